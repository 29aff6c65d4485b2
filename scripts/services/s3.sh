# S3-compatible object store for the remote cache's integration tests
# (cache/remote, cmd/refeval testdata/remote): SeaweedFS's `weed mini`
# on 127.0.0.1. Sourced by scripts/test.sh; defines start_s3 and stop_s3.
#
# weed is built from its module on the Go module proxy (`go install`
# refuses it: its go.mod has replace directives) into a cache folder
# outside the repository, once: about 7 minutes on 2 cores.

S3_WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
S3_CACHE=${REFEVAL_TEST_CACHE:-$HOME/.cache/refeval-test}
S3_WEED=$S3_CACHE/weed-$S3_WEED_VERSION
S3_PORT=${REFEVAL_TEST_S3_PORT:-8333}

build_weed() {
	[[ -x $S3_WEED ]] && return 0
	mkdir -p "$S3_CACHE"
	(
		flock 9
		[[ -x $S3_WEED ]] && exit 0
		echo "s3.sh: building SeaweedFS $S3_WEED_VERSION (once, several minutes)" >&2
		local dir src
		dir=$(env -u GOEXPERIMENT go mod download -json "github.com/seaweedfs/seaweedfs@$S3_WEED_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[[ -d $dir ]] || { echo "s3.sh: go mod download of seaweedfs failed" >&2; exit 1; }
		src=$(mktemp -d "$S3_CACHE/weed-src.XXXXXX")
		cp -r "$dir/." "$src"
		chmod -R u+w "$src"
		(cd "$src" && env -u GOEXPERIMENT go build -o "$S3_WEED.tmp" ./weed) || { rm -rf "$src"; exit 1; }
		mv "$S3_WEED.tmp" "$S3_WEED"
		rm -rf "$src"
	) 9>"$S3_CACHE/weed.lock"
}

start_s3() {
	build_weed || return 1
	# weed mini takes fixed ports (9333, 8888, 9340, 8333, ...). If they are
	# taken (another test run on this machine), the S3 tests skip; under CI
	# they must not, so starting fails there.
	local p
	for p in "$S3_PORT" 9333 8888 9340; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			if [[ ${CI:-} == true ]]; then
				echo "s3.sh: port $p on 127.0.0.1 is taken; cannot start weed" >&2
				return 1
			fi
			echo "s3.sh: port $p on 127.0.0.1 is taken (another test run?); the S3 integration tests will skip" >&2
			return 0
		fi
	done
	S3_DIR=$(mktemp -d "${TMPDIR:-/tmp}/refeval-s3.XXXXXX")
	# Fresh random credentials each run: the tests check that they never
	# appear in a file or an output.
	REFEVAL_TEST_S3_ACCESS_KEY=rk$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
	REFEVAL_TEST_S3_SECRET_KEY=rs$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
	AWS_ACCESS_KEY_ID=$REFEVAL_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$REFEVAL_TEST_S3_SECRET_KEY \
		"$S3_WEED" mini -dir="$S3_DIR" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="$S3_PORT" \
		-webdav=false -admin.ui=false -master.telemetry=false -bucket=refeval-test \
		>"$S3_DIR/weed.log" 2>&1 &
	S3_PID=$!
	local i ready=
	for i in $(seq 1 240); do
		if ! kill -0 "$S3_PID" 2>/dev/null; then
			echo "s3.sh: weed exited; its log:" >&2
			tail -30 "$S3_DIR/weed.log" >&2
			return 1
		fi
		# weed says so once every component (the bucket included) is up.
		if grep -q "All enabled components are running" "$S3_DIR/weed.log" &&
			(exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; then
			ready=1
			break
		fi
		sleep 0.5
	done
	if [[ -z $ready ]]; then
		echo "s3.sh: weed did not get ready in 120 s; its log:" >&2
		tail -30 "$S3_DIR/weed.log" >&2
		stop_s3
		return 1
	fi
	export REFEVAL_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
	export REFEVAL_TEST_S3_BUCKET=refeval-test
	export REFEVAL_TEST_S3_ACCESS_KEY REFEVAL_TEST_S3_SECRET_KEY
	export REFEVAL_TEST_S3_PID=$S3_PID
	echo "s3.sh: SeaweedFS S3 at $REFEVAL_TEST_S3_ENDPOINT (pid $S3_PID, data $S3_DIR)" >&2
}

stop_s3() {
	if [[ -n ${S3_PID:-} ]]; then
		kill "$S3_PID" 2>/dev/null || true
		wait "$S3_PID" 2>/dev/null || true
		S3_PID=
	fi
	[[ -n ${S3_DIR:-} ]] && rm -rf "$S3_DIR"
	return 0
}
