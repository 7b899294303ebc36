#!/usr/bin/env bash
test_description='four caas-build-runner pipelines (build, validate, push) at once on one engine: three images, two of them one name with two tags; each registry digest is its own build'
. "$(dirname "$0")/test-lib.sh"

p=$CS_TEST_PREFIX-conc
reg=$CAAS_REGISTRY
auth=(--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE")
accept="Accept: application/vnd.docker.distribution.manifest.v2+json"
# run NAME -> image and tag
declare -A image=([a]=$p-one [b]=$p-two [c]=$p-same [d]=$p-same)
declare -A tag=([a]=1 [b]=1 [c]=c1 [d]=c2)

# manifest_header REPO TAG HEADER: a header of the registry's answer to HEAD manifest.
manifest_header() {
	registry_curl -sf -I -H "$accept" "$CAAS_REGISTRY_URL/v2/$1/manifests/$2" |
		tr -d "\r" | sed -n "s/^$3: //Ip"
}

test_expect_success 'setup: four contexts with their own content' '
	for r in a b c d; do
		mkdir $r && echo "content-$r-$$" >$r/f &&
		printf "FROM busybox:latest\nCOPY f /f\nRUN sleep 1 && cp /f /g\nCMD [\"cat\", \"/g\"]\n" >$r/Dockerfile ||
			return 1
	done
'

test_expect_success 'four pipelines at once all succeed' '
	test_when_finished "for r in a b c d; do docker rmi -f $reg/\${image[\$r]}:\${tag[\$r]} >/dev/null 2>&1; done; :" &&
	SECONDS=0 &&
	for r in a b c d; do
		{ caas-build-runner --context $r --image ${image[$r]} --tag ${tag[$r]} --registry $reg \
			--push "${auth[@]}" --validate-level non-production --validate-observe 1 \
			--json $r.json >$r.out 2>&1; echo $? >$r.rc; } &
	done &&
	wait &&
	echo "four pipelines: $SECONDS s" &&
	for r in a b c d; do
		echo 0 | test_cmp - $r.rc || { cat $r.out; return 1; }
	done &&

	# each tag in the registry is the build of its own run: its digest is the one the
	# run reported, its config is the run image ID, and the image prints its own content
	for r in a b c d; do
		ref=$reg/${image[$r]}:${tag[$r]} &&
		digest=$(manifest_header ${image[$r]} ${tag[$r]} docker-content-digest) &&
		test -n "$digest" &&
		test "$(jq -r ".tags[] | select(.name == \"$ref\") | .digest" $r.json)" = "$digest" &&
		config=$(registry_curl -sf -H "$accept" "$CAAS_REGISTRY_URL/v2/${image[$r]}/manifests/${tag[$r]}" | jq -r .config.digest) &&
		test "$config" = "$(jq -r .image_id $r.json)" &&
		test "$(docker image inspect -f "{{.Id}}" $ref)" = "$config" &&
		test "$(docker run --rm $ref)" = "content-$r-$$" || return 1
	done &&
	test "$(jq -r .image_id c.json)" != "$(jq -r .image_id d.json)" &&

	# nothing of the runs is left: no build name, no validation container of these images
	docker images --format "{{.Repository}}:{{.Tag}}" | grep -F "$p" | sort >left &&
	printf "%s\n" "$reg/$p-one:1" "$reg/$p-same:c1" "$reg/$p-same:c2" "$reg/$p-two:1" | test_cmp - left &&
	for r in a b c d; do
		test -z "$(docker ps -aq --filter "ancestor=$reg/${image[$r]}:${tag[$r]}")" || return 1
	done
'

test_done
