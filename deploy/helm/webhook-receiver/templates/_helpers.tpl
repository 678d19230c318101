{{/* Names and labels. */}}
{{- define "webhook-receiver.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "webhook-receiver.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "webhook-receiver.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webhook-receiver.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "webhook-receiver.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "webhook-receiver.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "webhook-receiver.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}

{{/* Where the data volume is mounted: the image's VOLUME and WORKDIR. */}}
{{- define "webhook-receiver.dataDir" -}}/var/lib/webhook-receiver{{- end }}
{{- define "webhook-receiver.configDir" -}}/etc/webhook-receiver{{- end }}

{{- define "webhook-receiver.sqlite" -}}
{{- if eq .Values.database.engine "sqlite" }}true{{ end }}
{{- end }}

{{/*
The checks: rendering fails with a message that says what to change.
deployment.yaml includes this (once, so that the message is printed once).
*/}}
{{- define "webhook-receiver.validate" -}}
{{- $db := .Values.database }}
{{- if not (has $db.engine (list "sqlite" "postgresql")) }}
{{- fail (printf "database.engine must be sqlite or postgresql, got %q" (toString $db.engine)) }}
{{- end }}
{{- if and $db.url $db.existingSecret }}
{{- fail "database.url and database.existingSecret are both set: give the database URL one way" }}
{{- end }}
{{- if $db.url }}
{{- $scheme := regexFind "^[a-z]+:" $db.url }}
{{- if and (eq $db.engine "sqlite") (ne $scheme "sqlite:") }}
{{- fail "database.url is not a sqlite: URL but database.engine is sqlite: set database.engine=postgresql for a PostgreSQL URL" }}
{{- end }}
{{- if and (eq $db.engine "postgresql") (not (has $scheme (list "postgres:" "postgresql:" "pgsql:"))) }}
{{- fail "database.url must be a postgres:// URL with database.engine postgresql" }}
{{- end }}
{{- end }}
{{- if and (eq $db.engine "postgresql") (not $db.url) (not $db.existingSecret) }}
{{- fail "database.engine is postgresql but no database URL is given: set database.existingSecret (a Secret holding the URL) or database.url" }}
{{- end }}
{{- if and (eq $db.engine "sqlite") (gt (int .Values.replicas) 1) }}
{{- fail (printf "replicas is %d but the database is SQLite, which serves one process: keep replicas at 1, or use PostgreSQL (database.engine=postgresql and database.existingSecret or database.url) to run several replicas" (int .Values.replicas)) }}
{{- end }}
{{- if and (eq $db.engine "sqlite") .Values.worker.enabled }}
{{- fail "worker.enabled needs PostgreSQL: a separate worker cannot share the SQLite file of the serve pod; with SQLite, serve runs the enrollment workers itself" }}
{{- end }}
{{- if and .Values.config.content .Values.config.existingSecret }}
{{- fail "config.content and config.existingSecret are both set: give the configuration file one way" }}
{{- end }}
{{- $reserved := list "WEBHOOK_RECEIVER_LISTEN" "WEBHOOK_RECEIVER_METRICS_LISTEN" "WEBHOOK_RECEIVER_DATABASE_URL" "WEBHOOK_RECEIVER_DATABASE_URL_FILE" "DJANGO_DATABASE_URL" "WEBHOOK_RECEIVER_CONFIG" }}
{{- if .Values.worker.enabled }}
{{- $reserved = append $reserved "WEBHOOK_RECEIVER_WORKERS" }}
{{- end }}
{{- $seen := dict }}
{{- range $from, $names := dict "env" (keys .Values.env) "secrets" (keys .Values.secrets) "secretEnv" (keys .Values.secretEnv) "worker.env" (keys .Values.worker.env) }}
{{- range $name := $names }}
{{- if has $name $reserved }}
{{- fail (printf "%s.%s is set by the chart: use the chart's values for it (database, config, containerPort, metrics.port, worker)" $from $name) }}
{{- end }}
{{- if and (hasKey $seen $name) (not (and (eq $from "worker.env") (eq (get $seen $name) "env"))) }}
{{- fail (printf "%s is set in both %s and %s: set it once" $name (get $seen $name) $from) }}
{{- end }}
{{- $_ := set $seen $name $from }}
{{- end }}
{{- end }}
{{- range $name, $ref := .Values.secretEnv }}
{{- if not (and (kindIs "map" $ref) $ref.name $ref.key) }}
{{- fail (printf "secretEnv.%s must be {name: <Secret>, key: <key>}" $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The data of the Secret the chart creates (empty: no Secret). */}}
{{- define "webhook-receiver.secretData" -}}
{{- if .Values.database.url }}
database-url: {{ .Values.database.url | b64enc | quote }}
{{- end }}
{{- with .Values.config.content }}
config.yaml: {{ (kindIs "string" .) | ternary . (toYaml .) | b64enc | quote }}
{{- end }}
{{- range $name, $value := .Values.secrets }}
{{ $name }}: {{ $value | toString | b64enc | quote }}
{{- end }}
{{- end }}

{{/* The database URL variable, for the pods and the migration Job (secretName: the Secret holding database.url). */}}
{{- define "webhook-receiver.databaseEnv" -}}
- name: WEBHOOK_RECEIVER_DATABASE_URL
{{- if .root.Values.database.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.database.existingSecret }}
      key: {{ .root.Values.database.existingSecretKey }}
{{- else if .root.Values.database.url }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: database-url
{{- else }}
  value: {{ printf "sqlite:%s/webhook-receiver.db" (include "webhook-receiver.dataDir" .root) | quote }}
{{- end }}
{{- end }}

{{/* The pod spec of serve (command "serve") and worker (command "worker"). */}}
{{- define "webhook-receiver.podSpec" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $fullname := include "webhook-receiver.fullname" $root }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
# Service links would add WEBHOOK_RECEIVER_PORT and the like to the
# environment: names the service warns about as unknown settings.
enableServiceLinks: false
terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
containers:
  - name: {{ .command }}
    image: {{ include "webhook-receiver.image" $root }}
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: [{{ .command | quote }}]
    ports:
      - name: http
        containerPort: {{ $v.containerPort }}
        protocol: TCP
      {{- if $v.metrics.port }}
      - name: metrics
        containerPort: {{ $v.metrics.port }}
        protocol: TCP
      {{- end }}
    env:
      - name: WEBHOOK_RECEIVER_LISTEN
        value: {{ printf ":%v" $v.containerPort | quote }}
      {{- if $v.metrics.port }}
      - name: WEBHOOK_RECEIVER_METRICS_LISTEN
        value: {{ printf ":%v" $v.metrics.port | quote }}
      {{- end }}
      {{- include "webhook-receiver.databaseEnv" (dict "root" $root "secretName" $fullname) | nindent 6 }}
      {{- if or $v.config.content $v.config.existingSecret }}
      - name: WEBHOOK_RECEIVER_CONFIG
        value: {{ printf "%s/config.yaml" (include "webhook-receiver.configDir" $root) | quote }}
      {{- end }}
      {{- if $v.worker.enabled }}
      - name: WEBHOOK_RECEIVER_WORKERS
        value: {{ eq .command "worker" | ternary $v.worker.concurrency 0 | toString | quote }}
      {{- end }}
      {{- $env := $v.env }}
      {{- if eq .command "worker" }}
      {{- $env = merge (deepCopy $v.worker.env) $v.env }}
      {{- end }}
      {{- range $name, $value := $env }}
      - name: {{ $name }}
        value: {{ $value | toString | quote }}
      {{- end }}
      {{- range $name, $_ := $v.secrets }}
      - name: {{ $name }}
        valueFrom:
          secretKeyRef:
            name: {{ $fullname }}
            key: {{ $name }}
      {{- end }}
      {{- range $name, $ref := $v.secretEnv }}
      - name: {{ $name }}
        valueFrom:
          secretKeyRef:
            name: {{ $ref.name }}
            key: {{ $ref.key }}
      {{- end }}
      {{- with $v.extraEnv }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
    startupProbe:
      httpGet:
        path: /healthz
        port: http
      {{- toYaml $v.probes.startup | nindent 6 }}
    livenessProbe:
      httpGet:
        path: /healthz
        port: http
      {{- toYaml $v.probes.liveness | nindent 6 }}
    readinessProbe:
      httpGet:
        path: /readyz
        port: http
      {{- toYaml $v.probes.readiness | nindent 6 }}
    resources:
      {{- toYaml (eq .command "worker" | ternary $v.worker.resources $v.resources) | nindent 6 }}
    securityContext:
      {{- toYaml $v.securityContext | nindent 6 }}
    volumeMounts:
      - name: data
        mountPath: {{ include "webhook-receiver.dataDir" $root }}
      # The root filesystem is read-only: temporary files go here.
      - name: tmp
        mountPath: /tmp
      {{- if or $v.config.content $v.config.existingSecret }}
      - name: config
        mountPath: {{ include "webhook-receiver.configDir" $root }}
        readOnly: true
      {{- end }}
volumes:
  - name: data
    {{- if include "webhook-receiver.sqlite" $root }}
    persistentVolumeClaim:
      claimName: {{ default (printf "%s-data" $fullname) $v.persistence.existingClaim }}
    {{- else }}
    # PostgreSQL holds the data: this is scratch space.
    emptyDir: {}
    {{- end }}
  - name: tmp
    emptyDir: {}
  {{- if or $v.config.content $v.config.existingSecret }}
  - name: config
    secret:
      secretName: {{ default $fullname $v.config.existingSecret }}
      items:
        - key: {{ if $v.config.existingSecret }}{{ $v.config.existingSecretKey }}{{ else }}config.yaml{{ end }}
          path: config.yaml
  {{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
