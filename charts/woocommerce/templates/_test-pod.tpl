{{/*
A `helm test` pod running one script of the scripts ConfigMap with curl (and php for JSON)
from the web image (or tests.image). It talks to the in-cluster WordPress Service with the store's
Host header. Component "test" (not part of a store's readiness; the NetworkPolicy lets these
pods reach WordPress only). Helm deletes a test pod when the next `helm test` creates it
(before-hook-creation): a failed one stays for `kubectl logs` until then.
include with (dict "root" $ "name" "storefront" "script" "test-storefront.sh").
*/}}
{{- define "woocommerce.testPod" -}}
{{- $root := .root -}}
{{- $image := $root.Values.web.image -}}
{{- if $root.Values.tests.image.repository }}{{ $image = $root.Values.tests.image }}{{ end -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ $root.Release.Name }}-test-{{ .name }}
  labels:
    {{- include "woocommerce.labels" $root | nindent 4 }}
    app.kubernetes.io/component: test
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
  {{- include "woocommerce.podSecurityContext" (dict "uid" 33 "gid" 33) | nindent 2 }}
  {{- with include "woocommerce.scheduling" $root.Values.tests | trim }}{{ . | nindent 2 }}{{ end }}
  containers:
    - name: test
      image: {{ include "woocommerce.image" $image | quote }}
      imagePullPolicy: {{ default "IfNotPresent" $image.pullPolicy }}
      command: ["bash", "/urumi/{{ .script }}"]
      {{- include "woocommerce.containerSecurityContext" $root | nindent 6 }}
      env:
        - name: HOME
          value: /tmp
        - name: WEB_SERVICE_URL
          value: "http://{{ include "woocommerce.webName" $root }}"
        - name: STORE_HOST
          value: {{ include "woocommerce.host" $root | quote }}
        - name: SCHEME
          value: {{ include "woocommerce.scheme" $root | quote }}
      resources:
        {{- toYaml $root.Values.tests.resources | nindent 8 }}
      volumeMounts:
        - name: scripts
          mountPath: /urumi
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
