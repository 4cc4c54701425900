{{/*
Names, labels, URLs and the shared pieces of pod specs.
Objects are named "<release>-<part>": the release name is the store name (<= 40 characters).
*/}}

{{- define "medusa.storeName" -}}
{{- $name := default .Release.Name .Values.store.name -}}
{{- if or (gt (len $name) 40) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "store name %q must be a DNS-1123 label (lowercase letters, digits, '-') of at most 40 characters; set store.name or pick another release name" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "medusa.host" -}}
{{- if .Values.host -}}
{{- .Values.host -}}
{{- else -}}
{{- printf "%s.%s" (include "medusa.storeName" .) .Values.domain -}}
{{- end -}}
{{- end -}}

{{- define "medusa.scheme" -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* The store URL: the Ingress host with http, or https with TLS (CORS origins of the API). */}}
{{- define "medusa.url" -}}
{{- printf "%s://%s" (include "medusa.scheme" .) (include "medusa.host" .) -}}
{{- end -}}

{{- define "medusa.adminEmail" -}}
{{- default (printf "admin@%s" (include "medusa.host" .)) .Values.admin.email -}}
{{- end -}}

{{- define "medusa.secretName" -}}
{{- default (printf "%s-credentials" .Release.Name) .Values.existingSecret -}}
{{- end -}}

{{- define "medusa.tlsSecretName" -}}
{{- default (printf "%s-tls" .Release.Name) .Values.ingress.tls.secretName -}}
{{- end -}}

{{- define "medusa.webName" -}}{{ .Release.Name }}-medusa{{- end -}}
{{- define "medusa.dbName" -}}{{ .Release.Name }}-postgresql{{- end -}}
{{- define "medusa.cacheName" -}}{{ .Release.Name }}-redis{{- end -}}

{{- define "medusa.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: medusa
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: urumi
{{- end -}}

{{/* Selector labels for one component: include with (dict "root" $ "component" "web"). */}}
{{- define "medusa.selectorLabels" -}}
app.kubernetes.io/name: medusa
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every pod template (the urumi contract): name, instance, managed-by, component. */}}
{{- define "medusa.podLabels" -}}
{{ include "medusa.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: urumi
{{- end -}}

{{/* Pod annotations: the release-wide ones, then the component's own (dict "root" $ "values" .Values.web "extra" (dict ...)). */}}
{{- define "medusa.podAnnotations" -}}
{{- $annotations := merge (deepCopy (default dict .values.podAnnotations)) (deepCopy (default dict .root.Values.podAnnotations)) (default dict .extra) -}}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "medusa.image" -}}
{{- if or (not .tag) (eq (toString .tag) "latest") -}}
{{- fail (printf "image %s: pin a version tag (got %q); \"latest\" and empty tags are not allowed" .repository (toString .tag)) -}}
{{- end -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* Restricted Pod Security: pod level. include with (dict "uid" 1000 "gid" 1000). */}}
{{- define "medusa.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .uid }}
  runAsGroup: {{ .gid }}
  fsGroup: {{ .gid }}
  fsGroupChangePolicy: OnRootMismatch
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Restricted Pod Security: container level. */}}
{{- define "medusa.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{- define "medusa.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "medusa.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "medusa.secretName" .root }}
      key: {{ .key }}
{{- end -}}

{{/*
Where the Medusa server lives. Without web.prebuilt the setup Job installs and builds the
project on the app volume in a directory named after the Medusa version and a checksum of the
starter files, so that a new version or configuration gets a fresh build; the server runs from
its .medusa/server output. With web.prebuilt the server is in the image at web.appDir.
*/}}
{{- define "medusa.buildKey" -}}
{{- if .Values.web.prebuilt -}}
{{- printf "image-%s" (include "medusa.image" .Values.web.image | sha256sum | trunc 12) -}}
{{- else -}}
{{- $starter := printf "%s\n%s\n%s" (tpl (.Files.Get "files/starter/package.json") .) (.Files.Get "files/starter/medusa-config.ts") (.Files.Get "files/starter/tsconfig.json") -}}
{{- printf "%s-%s" .Values.setup.medusaVersion ($starter | sha256sum | trunc 12) -}}
{{- end -}}
{{- end -}}

{{- define "medusa.projectDir" -}}/app/medusa-{{ include "medusa.buildKey" . }}{{- end -}}

{{- define "medusa.serverDir" -}}
{{- if .Values.web.prebuilt -}}
{{- .Values.web.appDir -}}
{{- else -}}
{{- include "medusa.projectDir" . }}/.medusa/server
{{- end -}}
{{- end -}}

{{/* Written by the setup Job once migrations, seed and admin user are done; the server waits for it. */}}
{{- define "medusa.readyMarker" -}}/app/.urumi/ready-{{ include "medusa.buildKey" . }}{{- end -}}

{{/* The Medusa application's environment, shared by the server and the setup Job. */}}
{{- define "medusa.appEnv" -}}
{{ include "medusa.secretEnv" (dict "root" . "name" "POSTGRES_PASSWORD" "key" "postgres-password") }}
# ssl_mode=disable: the store's own PostgreSQL speaks no TLS, and Medusa's modules default to TLS
# for any host but localhost unless the URL says so (medusajs/medusa#15658: migrations then time out).
- name: DATABASE_URL
  value: "postgres://medusa:$(POSTGRES_PASSWORD)@{{ include "medusa.dbName" . }}:5432/medusa?ssl_mode=disable"
- name: REDIS_URL
  value: "redis://{{ include "medusa.cacheName" . }}:6379"
{{ include "medusa.secretEnv" (dict "root" . "name" "JWT_SECRET" "key" "jwt-secret") }}
{{ include "medusa.secretEnv" (dict "root" . "name" "COOKIE_SECRET" "key" "cookie-secret") }}
- name: STORE_CORS
  value: {{ include "medusa.url" . | quote }}
- name: ADMIN_CORS
  value: {{ include "medusa.url" . | quote }}
- name: AUTH_CORS
  value: {{ include "medusa.url" . | quote }}
- name: MEDUSA_WORKER_MODE
  value: {{ .Values.web.workerMode | quote }}
- name: MEDUSA_DISABLE_TELEMETRY
  value: "true"
- name: HOME
  value: /tmp
# @swc/core (ts-node's transpiler, `medusa build`) unpacks its native addon into a cache it
# refuses under a directory others can write without the sticky bit: HOME=/tmp is an emptyDir
# (0777). The image's own home of its user is safe (uid 1000 = node in the official image).
- name: SWC_NATIVE_BINDING_CACHE
  value: /home/node/.cache/swc
{{- end -}}

{{/* The app volume (installed project and npm cache, or only the ready marker when prebuilt). */}}
{{- define "medusa.storageClass" -}}
{{- with .Values.persistence.storageClass }}
storageClassName: {{ . | quote }}
{{- end }}
{{- end -}}
