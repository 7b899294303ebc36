#!/usr/bin/env bash
test_description='caas-validator: per-layer cache, overlay2 layer directories, images read from the registry'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-vc
img_dir=$TEST_DATA/validator/images
layers_pol=$TEST_DATA/validator/policies/layers.json

# run_paths NAME IMAGE [ARGS...]: validate IMAGE through the export stream, the
# overlay2 directories, a cold cache and a warm cache (cache dir cache-NAME);
# each run leaves NAME.MODE.{out,err,json,rc}. The four outputs and verdicts must
# be the same; the JSON says which path was taken.
run_paths() {
	local name=$1 image=$2 mode rc
	local -a how
	shift 2
	rm -rf "cache-$name"
	for mode in export local cold warm; do
		case $mode in
		export) how=(--export --no-cache) ;;
		local) how=(--no-cache) ;;
		*) how=(--cache-dir "cache-$name") ;;
		esac
		rc=0
		caas-validator -v --no-processes --json "$name.$mode.json" --junit "$name.$mode.xml" \
			"${how[@]}" "$@" "$image" >"$name.$mode.out" 2>"$name.$mode.err" || rc=$?
		echo "$rc" >"$name.$mode.rc"
	done
}

# validated NAME.MODE: the run finished a validation (its JSON is a report, not an error)
validated() {
	jq -e "has(\"Status\")" "$1.json" >/dev/null
}

# same_result NAME: identical stdout, exit code, violations, counts; the expected paths
same_result() {
	local name=$1 mode
	for mode in local cold warm; do
		test_cmp "$name.export.out" "$name.$mode.out" &&
		test_cmp "$name.export.rc" "$name.$mode.rc" || return 1
		if validated "$name.export"; then
			for f in export $mode; do
				jq -S "{Status, Err, violations, files, packages, packagesSkipped, notes}" \
					"$name.$f.json" >"$name.$f.cmp"
			done &&
			test_cmp "$name.export.cmp" "$name.$mode.cmp" || return 1
		else
			# an error: the same message, whatever the path, also in the JSON
			grep "error:" "$name.export.err" >"$name.export.e" &&
			grep "error:" "$name.$mode.err" >"$name.$mode.e" &&
			test_cmp "$name.export.e" "$name.$mode.e" &&
			for f in export $mode; do
				jq -S "{status, exit_code, error}" "$name.$f.json" >"$name.$f.cmp"
			done &&
			test_cmp "$name.export.cmp" "$name.$mode.cmp" &&
			jq -e ".status == \"failed\"" "$name.$mode.json" || return 1
		fi
	done
	if validated "$name.export"; then
		jq -e ".Source.path == \"export\" and .Source.layersFromCache == 0" "$name.export.json" &&
		jq -e ".Source.path == \"overlay2\" and .Source.layersFromOverlay2 == .Source.layers" "$name.local.json" &&
		jq -e ".Source.path == \"overlay2\" and .Source.cache" "$name.cold.json" &&
		jq -e ".Source.path == \"cache\" and .Source.layersFromCache == .Source.layers and .Source.layers > 0" "$name.warm.json"
	fi
}

test_expect_success 'setup: the images of the validator tests' '
	docker build -q -t $img-curl:1 "$img_dir/curl" >/dev/null &&
	docker build -q -t $img-layers:1 "$img_dir/layers" >/dev/null &&
	docker build -q -t $img-ssh:1 "$img_dir/ssh" >/dev/null &&
	mkdir scratch baddb &&
	cp /bin/busybox scratch/true &&
	printf "FROM scratch\nCOPY true /bin/true\nCMD [\"/bin/true\"]\n" >scratch/Dockerfile &&
	docker build -q -t $img-scratch:1 scratch >/dev/null &&
	printf "not a dpkg database\n" >baddb/status &&
	printf "FROM busybox:latest\nCOPY status /var/lib/dpkg/status\n" >baddb/Dockerfile &&
	docker build -q -t $img-baddb:1 baddb >/dev/null
'

test_expect_success 'Debian with curl and wget: the same through export, overlay2, cold and warm cache' '
	run_paths curl $img-curl:1 &&
	same_result curl &&
	test "$(cat curl.export.rc)" = 3 &&
	grep "^file /usr/bin/curl is forbidden" curl.warm.out &&
	test "$(jq ".packages" curl.warm.json)" -gt 100
'

test_expect_success 'whiteouts and an opaque directory: the same on every path' '
	run_paths layers $img-layers:1 --policy "$layers_pol" &&
	same_result layers &&
	test "$(cat layers.export.rc)" = 0 &&
	docker image inspect -f "{{.GraphDriver.Data.UpperDir}}" $img-layers:1 >upper &&
	test "$(jq .Source.layers layers.warm.json)" = "$(docker image inspect -f "{{len .RootFS.Layers}}" $img-layers:1)"
'

test_expect_success 'busybox, debian, scratch, the ssh image and the policy levels: the same on every path' '
	run_paths busybox busybox:latest &&
	same_result busybox &&
	test "$(cat busybox.export.rc)" = 3 &&
	run_paths debian debian:bookworm &&
	same_result debian &&
	run_paths scratch $img-scratch:1 &&
	same_result scratch &&
	run_paths ssh $img-ssh:1 --policy "$TEST_DATA/validator/policies/processes.json" &&
	same_result ssh &&
	run_paths nonprod $img-curl:1 --level non-production &&
	same_result nonprod &&
	test "$(cat nonprod.warm.rc)" = 0
'

test_expect_success 'an unreadable package database is the same error on every path (exit 2)' '
	run_paths baddb $img-baddb:1 &&
	same_result baddb &&
	test "$(cat baddb.warm.rc)" = 2 &&
	grep "cannot parse package database .var/lib/dpkg/status.: line 1" baddb.warm.err &&
	grep -c "from the cache" baddb.warm.err
'

test_expect_success 'no package database: the package checks are reported skipped, not passed' '
	grep "checked 1 files, 0 packages (package checks skipped: no package database)" scratch.warm.out &&
	jq -e ".packagesSkipped | test(\"no package database\")" scratch.warm.json &&
	xmllint --noout scratch.warm.xml &&
	n=$(xmllint --xpath "string(//testsuite[@name=\"packages\"]/@tests)" scratch.warm.xml) &&
	test "$n" -gt 0 &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"packages\"]/@skipped)" scratch.warm.xml)" = "$n" &&
	test "$(xmllint --xpath "count(//testsuite[@name=\"packages\"]/testcase/skipped)" scratch.warm.xml)" = "$n" &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"packages\"]/@skipped)" curl.warm.xml)" = 0 &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"files\"]/properties/property[@name=\"path\"]/@value)" curl.warm.xml)" = cache &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"files\"]/properties/property[@name=\"layers_from_cache\"]/@value)" curl.warm.xml)" = "$(jq .Source.layers curl.warm.json)"
'

test_expect_success 'a corrupted or truncated cache entry is detected, ignored and rebuilt' '
	top=$(docker image inspect -f "{{index .RootFS.Layers (len .RootFS.Layers | add -1)}}" $img-curl:1 2>/dev/null ||
		docker image inspect $img-curl:1 | jq -r ".[0].RootFS.Layers[-1]") &&
	entry=cache-curl/${top#sha256:}.layer &&
	test -f "$entry" &&
	size=$(stat -c %s "$entry") &&
	printf "\\377\\377\\377\\377" | dd of="$entry" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null &&
	test_expect_code 3 caas-validator -v --no-processes --cache-dir cache-curl --json c1.json $img-curl:1 >c1.out 2>c1.err &&
	grep "layer cache entry .*${top#sha256:}.layer. is corrupt (checksum mismatch): ignored and rebuilt" c1.err &&
	test_cmp curl.export.out c1.out &&
	jq -e ".Source.layersFromCache == .Source.layers - 1 and .Source.layersFromOverlay2 == 1" c1.json &&
	test -f "$entry" &&
	truncate -s $((size - 10)) "$entry" &&
	test_expect_code 3 caas-validator --no-processes --cache-dir cache-curl --json c2.json $img-curl:1 >c2.out 2>c2.err &&
	grep "is corrupt (truncated or wrong length)" c2.err &&
	test_cmp curl.export.out c2.out &&
	test_expect_code 3 caas-validator --no-processes --cache-dir cache-curl --json c3.json $img-curl:1 >c3.out 2>c3.err &&
	{ grep -v "^caas-validator: info: " c3.err || :; } >c3.rest &&
	test_must_be_empty c3.rest &&
	jq -e ".Source.path == \"cache\"" c3.json
'

test_expect_success 'a cache directory that cannot be written: a warning, the same result without cache' '
	: >not-a-dir &&
	test_expect_code 3 caas-validator --no-processes --cache-dir not-a-dir/cache --json w1.json $img-curl:1 >w1.out 2>w1.err &&
	grep "warning: layer cache disabled: cannot create layer cache directory .not-a-dir/cache." w1.err &&
	test_cmp curl.export.out w1.out &&
	jq -e ".Source.cache == false and .Source.path == \"overlay2\"" w1.json &&
	mkdir ro &&
	unshare -m sh -c "mount --bind ro ro && mount -o remount,ro,bind ro &&
		caas-validator --no-processes --cache-dir ro --json w2.json $img-curl:1 >w2.out 2>w2.err; echo \$? >w2.rc" &&
	test "$(cat w2.rc)" = 3 &&
	grep "warning: layer cache disabled: layer cache directory .ro. is not writable: Read-only file system" w2.err &&
	test_cmp curl.export.out w2.out &&
	jq -e ".Source.cache == false" w2.json &&
	test -z "$(ls -A ro)"
'

test_expect_success 'a rebuilt image whose top layer adds a forbidden file is caught with a warm cache' '
	mkdir rebuilt &&
	printf "FROM %s\nRUN echo z >/opt/tools/harmless2\n" $img-layers:1 >rebuilt/Dockerfile &&
	docker build -q -t $img-rebuilt:1 rebuilt >/dev/null &&
	test_expect_code 3 caas-validator -v --no-processes --policy "$layers_pol" --cache-dir cache-layers \
		--json r.json $img-rebuilt:1 >r.out 2>r.err &&
	grep "^file /opt/tools/harmless2 is forbidden (files.forbidden \"harmless2\")$" r.out &&
	jq -e ".Source.layersFromCache == .Source.layers - 1 and .Source.layersFromOverlay2 == 1" r.json &&
	test_expect_code 3 caas-validator --no-processes --policy "$layers_pol" --export --no-cache \
		$img-rebuilt:1 >r2.out &&
	test_cmp r2.out r.out
'

test_expect_success 'an image only in the registry: read from it, only the uncached layers fetched' '
	ref=$CAAS_REGISTRY/$img/rebuilt:1 &&
	DOCKER_CONFIG=$PWD/dcfg && export DOCKER_CONFIG && mkdir -p "$DOCKER_CONFIG" &&
	test_when_finished "docker logout $CAAS_REGISTRY >/dev/null 2>&1; unset DOCKER_CONFIG" &&
	docker login -u "$CAAS_REGISTRY_USER" --password-stdin "$CAAS_REGISTRY" \
		<"$CAAS_REGISTRY_PASSWORD_FILE" >/dev/null 2>&1 &&
	docker tag $img-rebuilt:1 $ref &&
	docker push -q $ref >/dev/null &&
	docker rmi $ref >/dev/null &&
	test_must_fail docker image inspect $ref >/dev/null 2>&1 &&
	n=$(docker image inspect -f "{{len .RootFS.Layers}}" $img-rebuilt:1) &&
	rm -rf cache-reg && caas-validator --no-processes --cache-dir cache-reg --policy "$layers_pol" $img-layers:1 >/dev/null &&
	test "$(ls cache-reg | wc -l)" = $((n - 1)) &&
	before=$(grep -c "\"GET /v2/$img/rebuilt/blobs/" "$CAAS_REGISTRY_LOG" || :) &&
	test_expect_code 3 caas-validator -v --no-processes --policy "$layers_pol" --cache-dir cache-reg \
		--registry-ca "$CAAS_REGISTRY_CA" --json g.json --junit g.xml $ref >g.out 2>g.err &&
	after=$(grep -c "\"GET /v2/$img/rebuilt/blobs/" "$CAAS_REGISTRY_LOG") &&
	test $((after - before)) = 2 &&
	grep "^file /opt/tools/harmless2 is forbidden" g.out &&
	grep -c "fetched from the registry" g.err >fetched && test "$(cat fetched)" = 1 &&
	jq -e ".Source.path == \"registry\" and .Source.layersFetched == 1 and .Source.layersFromCache == $((n - 1))" g.json &&
	jq -e ".ImageId == \"$(docker image inspect -f "{{.Id}}" $img-rebuilt:1)\"" g.json &&
	grep "processes skipped (--no-processes; not in the engine)" g.out &&
	grep -v "^note:" g.out | sed "s|; not in the engine)|)|" >g.cmp &&
	grep -v "^note:" r.out | sed "s|$img-rebuilt:1|$ref|" >r.cmp &&
	test_cmp r.cmp g.cmp &&
	test_must_fail docker image inspect $ref >/dev/null 2>&1
'

test_expect_success 'the registry path: credentials from options, the processes check needs a pull' '
	ref=$CAAS_REGISTRY/$img/rebuilt:1 &&
	test_expect_code 3 caas-validator --no-processes --no-cache --policy "$layers_pol" \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--registry-ca "$CAAS_REGISTRY_CA" --json o.json $ref >o.out 2>o.err &&
	jq -e ".Source.layersFetched == .Source.layers" o.json &&
	! grep -F "$(cat "$CAAS_REGISTRY_PASSWORD_FILE")" o.out o.err o.json &&
	test_expect_code 2 caas-validator --policy "$layers_pol" --no-cache $ref >p.out 2>p.err &&
	grep "is not in the engine: checking its processes needs a pull (docker pull $ref)" p.err &&
	printf "wrong\n" >badpw &&
	test_expect_code 7 caas-validator --no-processes --no-cache --registry-user "$CAAS_REGISTRY_USER" \
		--registry-password-file badpw --registry-ca "$CAAS_REGISTRY_CA" $ref >b.out 2>b.err &&
	grep "authentication failed for user" b.err &&
	test_expect_code 7 caas-validator --no-processes --no-cache --registry-ca "$CAAS_REGISTRY_CA" \
		$CAAS_REGISTRY/$img/nope:1 2>a.err &&
	grep "authentication failed for user .(anonymous)." a.err &&
	test_expect_code 2 caas-validator --no-processes --no-cache --registry-user "$CAAS_REGISTRY_USER" \
		--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" --registry-ca "$CAAS_REGISTRY_CA" \
		$CAAS_REGISTRY/$img/nope:1 2>n.err &&
	grep "no manifest $img/nope:1" n.err &&
	test_expect_code 3 caas-validator --no-processes --registry-user "$CAAS_REGISTRY_USER" \
		--registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" --registry-ca "$CAAS_REGISTRY_CA" \
		--junit j.xml $ref >j.out &&
	xmllint --xpath "string(//testsuite[@name=\"processes\"]/testcase[1]/skipped/@message)" j.xml | grep "needs a pull"
'

# push_blob REPO FILE: monolithic upload; prints the digest
push_blob() {
	local repo=$1 file=$2 d loc
	d=sha256:$(sha256sum "$file" | cut -d" " -f1)
	loc=$(registry_curl -s -D - -o /dev/null -X POST "$CAAS_REGISTRY_URL/v2/$repo/blobs/uploads/" |
		tr -d "\r" | sed -n "s/^location: //Ip")
	case $loc in http*) ;; *) loc=$CAAS_REGISTRY_URL$loc ;; esac
	case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
	registry_curl -s -f -o /dev/null -X PUT -H "Content-Type: application/octet-stream" \
		--data-binary "@$file" "$loc" && echo "$d"
}

test_expect_success 'a registry layer whose content is not its DiffID is refused and never cached' '
	repo=$img/forged &&
	mkdir -p forged/usr/bin && echo x >forged/usr/bin/curl &&
	tar -C forged -cf layer.tar usr && gzip -kn layer.tar &&
	other=sha256:$(printf "something else" | sha256sum | cut -d" " -f1) &&
	printf "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},\"config\":{}}" \
		"$other" >config.json &&
	lb=$(push_blob "$repo" layer.tar.gz) && cb=$(push_blob "$repo" config.json) &&
	printf "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":%d,\"digest\":\"%s\"},\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":%d,\"digest\":\"%s\"}]}" \
		"$(stat -c %s config.json)" "$cb" "$(stat -c %s layer.tar.gz)" "$lb" >manifest.json &&
	registry_curl -s -f -o /dev/null -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.v2+json" \
		--data-binary @manifest.json "$CAAS_REGISTRY_URL/v2/$repo/manifests/1" &&
	test_when_finished "md=\$(registry_curl -sI -H \"Accept: application/vnd.docker.distribution.manifest.v2+json\" \"$CAAS_REGISTRY_URL/v2/$repo/manifests/1\" | tr -d \"\\r\" | sed -n \"s/^docker-content-digest: //Ip\"); registry_curl -s -X DELETE \"$CAAS_REGISTRY_URL/v2/$repo/manifests/\$md\"" &&
	rm -rf cache-forged &&
	test_expect_code 2 caas-validator --no-processes --cache-dir cache-forged \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--registry-ca "$CAAS_REGISTRY_CA" $CAAS_REGISTRY/$repo:1 >f.out 2>f.err &&
	grep "layer blob $lb does not hold DiffID $other" f.err &&
	test -z "$(ls -A cache-forged)" &&
	! grep "is valid" f.out &&
	# with the right DiffID the same layer is read, and curl found
	right=sha256:$(sha256sum layer.tar | cut -d" " -f1) &&
	sed "s/$other/$right/" config.json >config2.json &&
	cb2=$(push_blob "$repo" config2.json) &&
	sed "s/$cb/$cb2/; s/\"size\":$(stat -c %s config.json),/\"size\":$(stat -c %s config2.json),/" manifest.json >manifest2.json &&
	registry_curl -s -f -o /dev/null -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.v2+json" \
		--data-binary @manifest2.json "$CAAS_REGISTRY_URL/v2/$repo/manifests/2" &&
	test_expect_code 3 caas-validator --no-processes --cache-dir cache-forged \
		--registry-user "$CAAS_REGISTRY_USER" --registry-password-file "$CAAS_REGISTRY_PASSWORD_FILE" \
		--registry-ca "$CAAS_REGISTRY_CA" $CAAS_REGISTRY/$repo:2 >f2.out 2>f2.err &&
	grep "^file /usr/bin/curl is forbidden" f2.out &&
	test -f "cache-forged/${right#sha256:}.layer" &&
	md2=$(registry_curl -sI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$repo/manifests/2" | tr -d "\r" | sed -n "s/^docker-content-digest: //Ip") &&
	registry_curl -s -X DELETE "$CAAS_REGISTRY_URL/v2/$repo/manifests/$md2"
'

test_expect_success 'caas-build-runner --validate uses the same layer cache' '
	test_when_finished "docker rmi -f $img-br:1 >/dev/null 2>&1" &&
	mkdir br && cp /bin/busybox br/app &&
	printf "FROM scratch\nCOPY app /app\nCMD [\"/app\", \"true\"]\n" >br/Dockerfile &&
	XDG_CACHE_HOME=$PWD/xdg caas-build-runner --context br --image $img-br --tag 1 \
		--validate-level production --validate-no-processes --json b1.json >b1.out 2>&1 &&
	jq -e ".validation.Source.path == \"overlay2\" and .validation.Source.layersFromCache == 0" b1.json &&
	test "$(ls xdg/caas-devops/*.layer | wc -l)" = 1 &&
	XDG_CACHE_HOME=$PWD/xdg caas-build-runner --context br --image $img-br --tag 1 \
		--validate-level production --validate-no-processes --json b2.json >b2.out 2>&1 &&
	jq -e ".validation.Source.path == \"cache\" and .validation.Source.layersFromCache == 1" b2.json
'

test_expect_success 'cleanup: the registry manifest and the images' '
	d=$(registry_curl -sI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"$CAAS_REGISTRY_URL/v2/$img/rebuilt/manifests/1" | tr -d "\r" | sed -n "s/^docker-content-digest: //Ip") &&
	registry_curl -s -X DELETE "$CAAS_REGISTRY_URL/v2/$img/rebuilt/manifests/$d" &&
	docker rmi -f $img-rebuilt:1 $img-curl:1 $img-layers:1 $img-ssh:1 $img-scratch:1 $img-baddb:1 >/dev/null
'

test_done
