{{/*
Names, labels, URLs and the shared pieces of pod specs.
Objects are named "<release>-<part>": the release name is the store name (<= 40 characters).
*/}}

{{- define "woocommerce.storeName" -}}
{{- $name := default .Release.Name .Values.store.name -}}
{{- if or (gt (len $name) 40) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "store name %q must be a DNS-1123 label (lowercase letters, digits, '-') of at most 40 characters; set store.name or pick another release name" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "woocommerce.host" -}}
{{- if .Values.host -}}
{{- .Values.host -}}
{{- else -}}
{{- printf "%s.%s" (include "woocommerce.storeName" .) .Values.domain -}}
{{- end -}}
{{- end -}}

{{- define "woocommerce.scheme" -}}
{{- if and .Values.ingress.enabled .Values.ingress.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* The storefront URL: WordPress home and siteurl are exactly this. */}}
{{- define "woocommerce.url" -}}
{{- printf "%s://%s" (include "woocommerce.scheme" .) (include "woocommerce.host" .) -}}
{{- end -}}

{{- define "woocommerce.adminEmail" -}}
{{- default (printf "admin@%s" (include "woocommerce.host" .)) .Values.admin.email -}}
{{- end -}}

{{- define "woocommerce.secretName" -}}
{{- default (printf "%s-credentials" .Release.Name) .Values.existingSecret -}}
{{- end -}}

{{- define "woocommerce.tlsSecretName" -}}
{{- default (printf "%s-tls" .Release.Name) .Values.ingress.tls.secretName -}}
{{- end -}}

{{- define "woocommerce.webName" -}}{{ .Release.Name }}-wordpress{{- end -}}
{{- define "woocommerce.dbName" -}}{{ .Release.Name }}-mariadb{{- end -}}

{{- define "woocommerce.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: woocommerce
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: urumi
{{- end -}}

{{/* Selector labels for one component: include with (dict "root" $ "component" "web"). */}}
{{- define "woocommerce.selectorLabels" -}}
app.kubernetes.io/name: woocommerce
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every pod template (the urumi contract): name, instance, managed-by, component. */}}
{{- define "woocommerce.podLabels" -}}
{{ include "woocommerce.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: urumi
{{- end -}}

{{/* Pod annotations: the release-wide ones, then the component's own (dict "root" $ "values" .Values.web "extra" (dict ...)). */}}
{{- define "woocommerce.podAnnotations" -}}
{{- $annotations := merge (deepCopy (default dict .values.podAnnotations)) (deepCopy (default dict .root.Values.podAnnotations)) (default dict .extra) -}}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "woocommerce.image" -}}
{{- if or (not .tag) (eq (toString .tag) "latest") -}}
{{- fail (printf "image %s: pin a version tag (got %q); \"latest\" and empty tags are not allowed" .repository (toString .tag)) -}}
{{- end -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}

{{/* Restricted Pod Security: pod level. include with (dict "uid" 33 "gid" 33). */}}
{{- define "woocommerce.podSecurityContext" -}}
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
{{- define "woocommerce.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{- define "woocommerce.scheduling" -}}
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

{{- define "woocommerce.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "woocommerce.secretName" .root }}
      key: {{ .key }}
{{- end -}}

{{/*
WordPress configuration through the official image's wp-config-docker.php (WORDPRESS_* variables),
shared by the web pod and the setup Job so that both see the same database, salts and URL.
*/}}
{{- define "woocommerce.wordpressEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ include "woocommerce.dbName" . | quote }}
- name: WORDPRESS_DB_NAME
  value: wordpress
- name: WORDPRESS_DB_USER
  value: wordpress
{{ include "woocommerce.secretEnv" (dict "root" . "name" "WORDPRESS_DB_PASSWORD" "key" "db-password") }}
{{- range $key := list "auth-key" "secure-auth-key" "logged-in-key" "nonce-key" "auth-salt" "secure-auth-salt" "logged-in-salt" "nonce-salt" }}
{{ include "woocommerce.secretEnv" (dict "root" $ "name" (printf "WORDPRESS_%s" ($key | upper | replace "-" "_")) "key" $key) }}
{{- end }}
- name: WORDPRESS_CONFIG_EXTRA
  value: |
    define('WP_HOME', '{{ include "woocommerce.url" . }}');
    define('WP_SITEURL', '{{ include "woocommerce.url" . }}');
    define('DISALLOW_FILE_EDIT', true);
    define('AUTOMATIC_UPDATER_DISABLED', true);
    define('FS_METHOD', 'direct');
{{- end -}}

{{/*
The docroot layout shared by the web pod and the setup Job: WordPress core in an emptyDir
(copied from the web image at start), wp-content on the store's volume.
*/}}
{{- define "woocommerce.docrootMounts" -}}
- name: docroot
  mountPath: /var/www/html
- name: wp-content
  mountPath: /var/www/html/wp-content
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "woocommerce.docrootVolumes" -}}
- name: docroot
  emptyDir:
    sizeLimit: 512Mi
- name: wp-content
  persistentVolumeClaim:
    claimName: {{ include "woocommerce.webName" . }}-content
- name: tmp
  emptyDir:
    sizeLimit: 512Mi
- name: web-config
  configMap:
    name: {{ include "woocommerce.webName" . }}-config
{{- end -}}

{{/*
The init container that puts WordPress core, wp-config.php and the loopback must-use plugin into
the docroot (files/copy-core.sh from the web ConfigMap), run from the web image as uid 33. It
replaces the official entrypoint's tar copy, which fails as non-root in the docroot emptyDir and
the wp-content volume it does not own. include with (dict "root" $ "resources" ...).
*/}}
{{- define "woocommerce.coreInitContainer" -}}
- name: wordpress-core
  image: {{ include "woocommerce.image" .root.Values.web.image | quote }}
  imagePullPolicy: {{ .root.Values.web.image.pullPolicy }}
  command: ["bash", "/urumi-web/copy-core.sh"]
  {{- include "woocommerce.containerSecurityContext" .root | nindent 2 }}
  env:
    - name: CONFIG_DIR
      value: /urumi-web
  resources:
    {{- toYaml .resources | nindent 4 }}
  volumeMounts:
    {{- include "woocommerce.docrootMounts" .root | nindent 4 }}
    - name: web-config
      mountPath: /urumi-web
      readOnly: true
{{- end -}}

{{- define "woocommerce.storageClass" -}}
{{- with .Values.persistence.storageClass }}
storageClassName: {{ . | quote }}
{{- end }}
{{- end -}}
