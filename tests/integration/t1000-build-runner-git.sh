#!/usr/bin/env bash
test_description='caas-build-runner builds a git commit at a branch, a tag and a SHA, with docker'"'"'s .dockerignore rules'
. "$(dirname "$0")/test-lib.sh"

# A repository with two commits: "old" and the tag v1 point at the first,
# main at the second; each commit changes app.txt.
test_expect_success 'setup: a local git repository from the fixture' '
	cp -a "$TEST_DATA/build/ignore-app" repo &&
	git -C repo init -q -b main &&
	git -C repo -c user.name=t -c user.email=t@e add -A &&
	GIT_COMMITTER_DATE="2024-01-02T03:04:05Z" git -C repo -c user.name=t -c user.email=t@e commit -qm one &&
	git -C repo tag -a v1 -m v1 &&
	git -C repo branch old &&
	echo two >repo/app.txt &&
	GIT_COMMITTER_DATE="2024-02-03T04:05:06Z" git -C repo -c user.name=t -c user.email=t@e commit -qam two &&
	sha1=$(git -C repo rev-parse old) && sha2=$(git -C repo rev-parse main) &&
	img=$CS_TEST_PREFIX-app
'

test_expect_success 'default ref is the remote HEAD; the context follows .dockerignore exactly' '
	test_when_finished "docker rmi -f $img:head >/dev/null 2>&1" &&
	caas-build-runner --repo "$PWD/repo" --image $img --tag head --json head.json >out 2>&1 &&
	grep "sending build context: " out &&
	docker run --rm $img:head | sort >actual &&
	test_cmp "$TEST_DATA/build/ignore-app.expected" actual &&
	test "$(docker run --rm $img:head cat /ctx/app.txt)" = two &&
	test "$(docker run --rm $img:head readlink /ctx/link-to-app)" = app.txt &&
	test "$(jq -r .commit head.json)" = "$sha2"
'

test_expect_success 'a branch, an annotated tag and a SHA select the commit' '
	test_when_finished "docker rmi -f $img:b $img:t $img:s >/dev/null 2>&1" &&
	caas-build-runner --repo "file://$PWD/repo" --ref old --image $img --tag b >out 2>&1 &&
	test "$(docker run --rm $img:b cat /ctx/app.txt)" = hello &&
	caas-build-runner --repo "$PWD/repo" --ref v1 --image $img --tag t >out 2>&1 &&
	test "$(docker run --rm $img:t cat /ctx/app.txt)" = hello &&
	caas-build-runner --repo "$PWD/repo" --ref "${sha2:0:10}" --image $img --tag s >out 2>&1 &&
	test "$(docker run --rm $img:s cat /ctx/app.txt)" = two
'

test_expect_success 'labels: revision, source without credentials, commit time, version' '
	test_when_finished "docker rmi -f $img:lab >/dev/null 2>&1" &&
	caas-build-runner --repo "$PWD/repo" --ref old --image $img --tag lab --label team=qa >out 2>&1 &&
	docker image inspect -f "{{json .Config.Labels}}" $img:lab >labels.json &&
	test "$(jq -r ".\"org.opencontainers.image.revision\"" labels.json)" = "$sha1" &&
	test "$(jq -r ".\"org.opencontainers.image.created\"" labels.json)" = 2024-01-02T03:04:05Z &&
	test "$(jq -r ".\"org.opencontainers.image.version\"" labels.json)" = lab &&
	test "$(jq -r ".\"org.opencontainers.image.source\"" labels.json)" = "$PWD/repo" &&
	test "$(jq -r .team labels.json)" = qa
'

test_expect_success 'the same commit and options rebuild to the same image ID' '
	test_when_finished "docker rmi -f $img:r1 $img:r2 >/dev/null 2>&1" &&
	caas-build-runner --repo "$PWD/repo" --ref old --image $img --tag r --json r1.json >out 2>&1 &&
	rm -f r2.json &&
	caas-build-runner --repo "$PWD/repo" --ref old --image $img --tag r --json r2.json >out 2>&1 &&
	test "$(jq -r .image_id r1.json)" = "$(jq -r .image_id r2.json)" &&
	docker rmi -f $img:r >/dev/null
'

test_expect_success 'default tag is BUILD_NUMBER, else the short SHA; the build number is a label' '
	test_when_finished "docker rmi -f $img:${sha1:0:7} $img:42 >/dev/null 2>&1" &&
	caas-build-runner --repo "$PWD/repo" --ref old --image $img >out 2>&1 &&
	docker image inspect $img:${sha1:0:7} >/dev/null &&
	BUILD_NUMBER=42 caas-build-runner --repo "$PWD/repo" --ref old --image $img >out 2>&1 &&
	test "$(docker image inspect -f "{{index .Config.Labels \"io.jenkins.build-number\"}}" $img:42)" = 42
'

test_expect_success 'a ref that does not exist: exit 5, the ref named, no work directory left' '
	before=$(ls -d /tmp/caas-build-* 2>/dev/null | wc -l) &&
	test_expect_code 5 caas-build-runner --repo "$PWD/repo" --ref nope --image $img >out 2>&1 &&
	grep "nope" out &&
	test "$(ls -d /tmp/caas-build-* 2>/dev/null | wc -l)" = "$before"
'

test_expect_success 'a repository that does not exist: exit 5' '
	test_expect_code 5 caas-build-runner --repo "$PWD/no-such-repo" --image $img >out 2>&1 &&
	grep "no-such-repo" out
'

test_expect_success 'submodules are checked out recursively' '
	test_when_finished "docker rmi -f $img:sub >/dev/null 2>&1" &&
	mkdir sub && git -C sub init -q -b main && echo from-sub >sub/s.txt &&
	git -C sub add s.txt && git -C sub -c user.name=t -c user.email=t@e commit -qm s &&
	mkdir top && git -C top init -q -b main &&
	printf "FROM busybox:latest\nCOPY lib/s.txt /s.txt\nCMD [\"cat\", \"/s.txt\"]\n" >top/Dockerfile &&
	git -C top -c protocol.file.allow=always submodule -q add "$PWD/sub" lib &&
	git -C top add -A && git -C top -c user.name=t -c user.email=t@e commit -qm top &&
	caas-build-runner --repo "$PWD/top" --image $img --tag sub >out 2>&1 &&
	test "$(docker run --rm $img:sub)" = from-sub
'

test_done
