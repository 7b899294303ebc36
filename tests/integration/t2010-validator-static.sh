#!/usr/bin/env bash
test_description='caas-validator reads files and packages from the image layers'
. "$(dirname "$0")/test-lib.sh"

img=$CS_TEST_PREFIX-val
img_dir=$TEST_DATA/validator/images

# The Debian image with curl and wget costs ~30 s: built once, used by the first tests.
test_expect_success 'setup: a Debian image with curl and wget' '
	docker build -q -t $img-curl:1 "$img_dir/curl" >/dev/null
'

test_expect_success 'curl and wget are reported, gcc-12-base is not (exit 3)' '
	test_expect_code 3 caas-validator --no-processes $img-curl:1 >out &&
	grep "^file /usr/bin/curl is forbidden (files.forbidden \"curl\")$" out &&
	grep "^file /usr/bin/wget is forbidden (files.forbidden \"wget\")$" out &&
	! grep gcc out &&
	docker run --rm --network none $img-curl:1 dpkg-query -W gcc-12-base &&
	grep "Image .$img-curl:1. is not valid (2 violations): it will not be pushed to the private registry" out
'

test_expect_success 'the package count matches dpkg-query inside the image' '
	n=$(docker run --rm --network none $img-curl:1 dpkg-query -f "\${db:Status-Status}\n" -W |
		grep -c "^installed$") &&
	grep "checked [0-9]* files, $n packages" out
'

test_expect_success 'the same result from a docker save archive, and the JSON report' '
	docker save -o img.tar $img-curl:1 &&
	test_expect_code 3 caas-validator --no-processes --archive img.tar --json r.json \
		--junit r.xml $img-curl:1 >out2 &&
	test_cmp out out2 &&
	jq -e ".Status == \"failure\" and .Name == \"$img-curl\" and .Tag == \"1\"" r.json &&
	jq -e ".FullTag == \"$img-curl:1\"" r.json &&
	jq -e ".Id | test(\"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$\")" r.json &&
	jq -e "[.violations[] | .item] == [\"/usr/bin/curl\", \"/usr/bin/wget\"]" r.json &&
	jq -e ".violations[0] == {\"section\": \"files\", \"item\": \"/usr/bin/curl\", \"rule\": \"curl\"}" r.json &&
	jq -e ".Err | split(\"\n\") | length == 2" r.json &&
	xmllint --noout r.xml &&
	xmllint --xpath "string(//testsuite[@name=\"files\"]/testcase[contains(@name,\"curl\")]/failure)" r.xml >curl.txt &&
	grep "^/usr/bin/curl$" curl.txt &&
	test "$(xmllint --xpath "string(//testsuite[@name=\"files\"]/@failures)" r.xml)" = 2
'

test_expect_success 'the non-production level accepts download tools' '
	caas-validator --level non-production --no-processes $img-curl:1 >out &&
	grep "is valid" out
'

test_expect_success 'the debian base itself is valid for production' '
	caas-validator --no-processes debian:bookworm >out &&
	grep "Image .debian:bookworm. is valid: it can be pushed to the private registry" out
'

test_expect_success 'a file deleted in a later layer and an opaque directory are not reported' '
	test_when_finished "docker rmi -f $img-layers:1 >/dev/null 2>&1" &&
	docker build -q -t $img-layers:1 "$img_dir/layers" >/dev/null &&
	docker save $img-layers:1 >l.tar &&
	caas-validator --policy "$TEST_DATA/validator/policies/layers.json" --no-processes \
		$img-layers:1 >out &&
	grep "is valid" out &&
	caas-validator --policy "$TEST_DATA/validator/policies/layers.json" --no-processes \
		--archive l.tar $img-layers:1 >out &&
	grep "is valid" out &&
	for l in $(tar -tf l.tar | grep layer.tar); do tar -xOf l.tar $l | tar -t; done >entries &&
	grep "^usr/local/bin/.wh.tcpdump$" entries &&
	grep "^opt/tools/.wh..wh..opq$" entries &&
	grep "^opt/tools/nmap$" entries
'

test_expect_success 'a FROM scratch image with one static binary is valid' '
	test_when_finished "docker rmi -f $img-scratch:1 >/dev/null 2>&1" &&
	mkdir scratch && cp /bin/busybox scratch/true &&
	printf "FROM scratch\nCOPY true /bin/true\nCMD [\"/bin/true\"]\n" >scratch/Dockerfile &&
	docker build -q -t $img-scratch:1 scratch >/dev/null &&
	caas-validator --json s.json $img-scratch:1 >out 2>err &&
	grep "checked 1 files, 0 packages" out &&
	grep "^note: the container exited after .* with code 0" err &&
	jq -e ".Status == \"success\" and .Err == \"\" and .violations == []" s.json &&
	test -z "$(docker ps -aq --filter name=cs-val- \
		--filter "ancestor=$(docker image inspect -f "{{.Id}}" $img-scratch:1)")"
'

test_expect_success 'an archive of several images: IMAGE picks one, an unknown one is exit 2' '
	docker save -o multi.tar busybox:latest debian:bookworm &&
	test_expect_code 3 caas-validator --no-processes --archive multi.tar busybox >out &&
	grep "^file /bin/nc is forbidden" out &&
	caas-validator --no-processes --archive multi.tar debian:bookworm >out &&
	grep "checked [0-9]* files, [1-9][0-9]* packages" out &&
	test_expect_code 2 caas-validator --no-processes --archive multi.tar nope 2>err &&
	grep "holds no image .nope." err
'

test_expect_success 'cleanup: the Debian image' '
	docker rmi -f $img-curl:1 >/dev/null
'

test_done
