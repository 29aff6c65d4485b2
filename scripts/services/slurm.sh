# Slurm for the executor/slurm integration tests: a one-node cluster on this machine
# (this host is controller and node), sourced by scripts/test.sh.
#
#   start_slurm  installs slurmctld, slurmd, munge and slurm-client if missing (Debian,
#                as root), writes a munge key and slurm.conf, starts munged, slurmctld and
#                slurmd, waits until sinfo shows the node idle, and exports
#                REFEVAL_TEST_SLURM=1. Running it again with the cluster up does nothing.
#                A slurm.conf it did not write (a machine with a Slurm of its own) is left
#                alone, and the Slurm tests skip (fail under CI).
#   stop_slurm   stops the daemons this shell's start_slurm started (none if the cluster
#                was already up, so that two test runs on one machine do not stop each other's).
#
# The node declares two GPUs as GRES on fake device files, so that a gpus = 2 stage becomes
# a real GPU request that Slurm schedules and accounts, with no GPU on the machine.

slurm_dir=/var/lib/refeval-slurm

slurm_log() { echo "slurm.sh: $*" >&2; }

slurm_node_state() { sinfo -h -N -n "$(hostname -s)" -o %T 2>/dev/null | head -1 || true; }

start_slurm() {
	if [[ $(id -u) != 0 ]]; then
		slurm_log "not root: cannot install or start Slurm; the Slurm tests will skip (fail under CI)"
		return 0
	fi
	if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
		if ! command -v apt-get >/dev/null; then
			slurm_log "Slurm is not installed and there is no apt-get to install it (not Debian): the Slurm tests will skip (fail under CI)"
			return 0
		fi
		slurm_log "installing slurmctld slurmd munge slurm-client"
		apt-get update -qq >&2 || return 1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd munge slurm-client >&2 || return 1
	fi
	case $(slurm_node_state) in
	idle* | mix* | alloc*)
		slurm_log "already running"
		export REFEVAL_TEST_SLURM=1
		return 0
		;;
	esac

	# A machine with a Slurm of its own keeps it: only a slurm.conf this script
	# wrote is replaced.
	if [[ -e /etc/slurm/slurm.conf ]] && ! head -1 /etc/slurm/slurm.conf | grep -q '^# Written by refeval scripts/services/slurm.sh'; then
		slurm_log "/etc/slurm/slurm.conf was not written by this script: leaving this machine's Slurm alone; the Slurm tests will skip (fail under CI)"
		return 0
	fi

	local host cpus mem conf
	host=$(hostname -s)
	cpus=$(nproc)
	mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 3 / 4))
	mkdir -p "$slurm_dir/ctld" "$slurm_dir/d" /var/log/slurm /etc/slurm /run/munge
	# Fake GPU device files: Slurm wants character devices; these are /dev/null's (1,3).
	for i in 0 1; do
		[[ -c $slurm_dir/gpu$i ]] && continue
		rm -f "$slurm_dir/gpu$i"
		mknod "$slurm_dir/gpu$i" c 1 3 || return 1
	done

	# munge: one key on the one machine.
	mkdir -p /etc/munge /var/lib/munge /var/log/munge
	if [[ ! -s /etc/munge/munge.key ]]; then
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
	fi
	chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
	chmod 0700 /etc/munge
	chmod 0400 /etc/munge/munge.key
	if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
		runuser -u munge -- /usr/sbin/munged || return 1
		slurm_started_munged=1
	fi

	conf=/etc/slurm/slurm.conf
	cat >"$conf.new" <<EOF
# Written by refeval scripts/services/slurm.sh: a one-node test cluster.
ClusterName=refeval
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=600
KillWait=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$slurm_dir/ctld
SlurmdSpoolDir=$slurm_dir/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
	mv "$conf.new" "$conf"
	echo "NodeName=$host Name=gpu File=$slurm_dir/gpu[0-1]" >/etc/slurm/gres.conf

	if ! scontrol ping 2>/dev/null | grep -q UP; then
		slurmctld || { tail -20 /var/log/slurm/slurmctld.log >&2; return 1; }
		slurm_started_ctld=1
	else
		scontrol reconfigure >/dev/null 2>&1 || true
	fi
	if [[ ! -e /run/slurmd.pid ]] || ! kill -0 "$(cat /run/slurmd.pid)" 2>/dev/null; then
		slurmd || { tail -20 /var/log/slurm/slurmd.log >&2; return 1; }
		slurm_started_d=1
	fi
	local i state
	for ((i = 0; i < 60; i++)); do
		state=$(slurm_node_state)
		case $state in
		idle*) break ;;
		down* | drain* | fail*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
		esac
		sleep 1
	done
	if [[ $(slurm_node_state) != idle* ]]; then
		slurm_log "node $host is '$(slurm_node_state)', not idle, after 60s"
		tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
		return 1
	fi
	slurm_log "cluster up: node $host idle ($cpus CPUs, 2 fake GPUs)"
	export REFEVAL_TEST_SLURM=1
}

stop_slurm() {
	if [[ ${slurm_started_d:-} == 1 && -e /run/slurmd.pid ]]; then
		kill "$(cat /run/slurmd.pid)" 2>/dev/null
	fi
	if [[ ${slurm_started_ctld:-} == 1 && -e /run/slurmctld.pid ]]; then
		kill "$(cat /run/slurmctld.pid)" 2>/dev/null
	fi
	if [[ ${slurm_started_munged:-} == 1 && -e /run/munge/munged.pid ]]; then
		kill "$(cat /run/munge/munged.pid)" 2>/dev/null
	fi
	return 0
}
