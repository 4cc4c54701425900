{{/*
A `helm test` pod from the node image running one command against the in-cluster Medusa
Service with the store's Host header. Labelled component "setup" so that the NetworkPolicy lets
it reach the server.
include with (dict "root" $ "name" "server" "command" (list "bash" "/urumi/scripts/test-server.sh")).
*/}}
{{- define "medusa.testPod" -}}
{{- $root := .root -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ $root.Release.Name }}-test-{{ .name }}
  labels:
    {{- include "medusa.labels" $root | nindent 4 }}
    app.kubernetes.io/component: setup
    urumi.dev/helm-test: {{ .name | quote }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
    {{- with merge (deepCopy (default dict $root.Values.tests.podAnnotations)) (deepCopy (default dict $root.Values.podAnnotations)) }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- include "medusa.podSecurityContext" (dict "uid" 1000 "gid" 1000) | nindent 2 }}
  {{- with include "medusa.scheduling" $root.Values.tests | trim }}{{ . | nindent 2 }}{{ end }}
  containers:
    - name: test
      image: {{ include "medusa.image" $root.Values.tests.image | quote }}
      imagePullPolicy: {{ $root.Values.tests.image.pullPolicy }}
      command:
        {{- toYaml .command | nindent 8 }}
      {{- include "medusa.containerSecurityContext" $root | nindent 6 }}
      env:
        - name: HOME
          value: /tmp
        - name: SCRIPTS_DIR
          value: /urumi/scripts
        - name: WEB_SERVICE_URL
          value: "http://{{ include "medusa.webName" $root }}:9000"
        - name: STORE_HOST
          value: {{ include "medusa.host" $root | quote }}
        {{- if .admin }}
        {{- include "medusa.secretEnv" (dict "root" $root "name" "ADMIN_EMAIL" "key" "admin-username") | nindent 8 }}
        {{- include "medusa.secretEnv" (dict "root" $root "name" "ADMIN_PASSWORD" "key" "admin-password") | nindent 8 }}
        {{- end }}
      resources:
        {{- toYaml $root.Values.tests.resources | nindent 8 }}
      volumeMounts:
        - name: scripts
          mountPath: /urumi/scripts
          readOnly: true
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: scripts
      configMap:
        name: {{ $root.Release.Name }}-scripts
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end -}}
