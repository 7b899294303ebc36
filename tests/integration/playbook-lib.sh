# shellcheck shell=bash
# Helpers for the playbook tests (t40*-playbook-*.sh), sourced after test-lib.sh:
# ansible-playbook against localhost (ansible_connection=local) with the modules of this tree
# (playbooks/library, made by make).
#
#   write_inventory FILE VAR=VALUE...   the seed's inventory for build_server (local, the
#                                       tree's policies), plus VAR=VALUE
#   run_playbook OUT PLAYBOOK ARGS...   ansible-playbook -i ... $TOP/playbooks/PLAYBOOK; its
#                                       output (stdout and stderr) in OUT; its exit code
#   task_status OUT 'TASK NAME'         ok, changed, failed, skipping or fatal: the result
#                                       of that task in OUT (the first with that name)
#   printed_url OUT                     the URL the play printed ("URL: http://...")
#   registry_code REPO TAG              HTTP status of the manifest REPO:TAG in the registry
#   registry_digest REPO TAG            its digest
#   registry_delete REPO TAG            delete it (cleanup)
#   free_port [AFTER]                   a free TCP port on 127.0.0.1 (above AFTER)

# Ansible wants a UTF-8 locale; its own files go to the scratch directory.
LC_ALL=C.UTF-8
ANSIBLE_NOCOLOR=1
ANSIBLE_FORCE_COLOR=0
ANSIBLE_RETRY_FILES_ENABLED=0
ANSIBLE_LOCALHOST_WARNING=0
ANSIBLE_HOST_KEY_CHECKING=0
ANSIBLE_LOCAL_TEMP=$TEST_SCRATCH/.ansible/tmp
ANSIBLE_REMOTE_TEMP=$TEST_SCRATCH/.ansible/remote
# where the playbooks' per-run directories go (tempfile): checked for leftovers
TMPDIR=$TEST_SCRATCH/tmp
mkdir -p "$TMPDIR"
export LC_ALL ANSIBLE_NOCOLOR ANSIBLE_FORCE_COLOR ANSIBLE_RETRY_FILES_ENABLED ANSIBLE_LOCALHOST_WARNING
export ANSIBLE_HOST_KEY_CHECKING ANSIBLE_LOCAL_TEMP ANSIBLE_REMOTE_TEMP TMPDIR
unset ANSIBLE_CONFIG ANSIBLE_LIBRARY ANSIBLE_STDOUT_CALLBACK CAAS_REGISTRY_PASSWORD WORKSPACE

for m in caas_build caas_validate caas_deploy; do
	if [ ! -x "$TOP/playbooks/library/$m" ]; then
		say_bail "playbooks/library/$m is missing: run make"
	fi
done
command -v ansible-playbook >/dev/null || say_bail "ansible-playbook is missing: run tests/env/setup.sh"

write_inventory() {
	local file=$1 kv
	shift
	{
		echo "[docker_nodes]"
		echo "build_server ansible_connection=local ansible_python_interpreter=/usr/bin/python3"
		# Ansible runs a copy of each module from a temporary directory: the validator finds
		# only installed policies, or these
		echo "build_server policy_dir=$TOP/validator/policies"
		for kv in "$@"; do
			echo "build_server $kv"
		done
	} >"$file"
}

run_playbook() {
	local out=$1 playbook=$2 rc=0
	shift 2
	ansible-playbook "$@" "$TOP/playbooks/$playbook" >"$out" 2>&1 || rc=$?
	return "$rc"
}

task_status() {
	awk -v name="TASK [$2]" '
		index($0, name) == 1 { found = 1; next }
		found && /^(ok|changed|failed|fatal|skipping):/ { sub(/:.*/, ""); print; exit }
		found && /^TASK \[/ { exit }
	' "$1"
}

printed_url() {
	sed -n 's/^ *"msg": "URL: \(http[^ "]*\).*/\1/p' "$1" | head -n 1
}

manifest_accept='Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json'

registry_code() {
	registry_curl -o /dev/null -w '%{http_code}' -I -H "$manifest_accept" \
		"$CAAS_REGISTRY_URL/v2/$1/manifests/$2"
}

registry_digest() {
	registry_curl -I -H "$manifest_accept" "$CAAS_REGISTRY_URL/v2/$1/manifests/$2" |
		tr -d '\r' | sed -n 's/^docker-content-digest: //Ip'
}

registry_delete() {
	local d
	d=$(registry_digest "$1" "$2")
	[ -z "$d" ] || registry_curl -o /dev/null -X DELETE "$CAAS_REGISTRY_URL/v2/$1/manifests/$d"
}

free_port() {
	local p
	for ((p = ${1:-$((20000 + $$ % 20000))} + 1; p < 65000; p += 7)); do
		if ! ss -Htln "sport = :$p" | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# get URL: the body, retried for up to 30 s (a published host port answers a moment after
# the task runs).
get() {
	local i
	for ((i = 0; i < 30; i++)); do
		curl -fsS --max-time 5 "$1" 2>/dev/null && return 0
		sleep 1
	done
	curl -fsS --max-time 5 "$1"
}
