#!/bin/bash
# A throw-away single-node Slurm (slurmctld + slurmd + munged) under a work folder, on loopback
# with its own ports, for the tests: `slurm_local.sh start DIR` / `slurm_local.sh stop DIR`.
# Nothing system-wide is touched; daemons are stopped by their PID files. Needs root.
set -euo pipefail
CMD=${1:?start|stop}; W=$(realpath -m "${2:?work folder}")
if [ "$CMD" = stop ]; then
  pids=()
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    p=$(cat "$W/$f" 2>/dev/null || true)
    [ -n "$p" ] && kill "$p" 2>/dev/null && pids+=("$p")
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do [ -d "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] || break; sleep 0.1; done
  done
  exit 0
fi
mkdir -p "$W"/{spool/ctld,spool/d,log,munge/key}
H=$(hostname -s); CPUS=${SLURM_FAKE_CPUS:-4}
MEM=$(( $(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 / 2 ))
PORT=${SLURM_TEST_PORT:-$((20000 + RANDOM % 20000))}
chown munge:munge "$W/munge" "$W/munge/key"; chmod 755 "$W/munge"; chmod 700 "$W/munge/key"
dd if=/dev/urandom of="$W/munge/key/munge.key" bs=1 count=1024 status=none
chown munge:munge "$W/munge/key/munge.key"; chmod 400 "$W/munge/key/munge.key"
runuser -u munge -- munged --key-file="$W/munge/key/munge.key" --socket="$W/munge/munge.socket" \
  --pid-file="$W/munge/munged.pid" --log-file="$W/munge/munged.log" --seed-file="$W/munge/key/munged.seed"
cat > "$W/slurm.conf" <<CONF
ClusterName=qinlingtest
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
SlurmctldPort=${PORT}
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$W/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$W/spool/ctld
SlurmdSpoolDir=$W/spool/d
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SlurmdParameters=config_overrides
ReturnToService=2
InactiveLimit=0
MinJobAge=30
KillWait=5
NodeName=${H} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM} State=UNKNOWN
PartitionName=test Nodes=${H} Default=YES MaxTime=UNLIMITED State=UP
CONF
export SLURM_CONF="$W/slurm.conf"
slurmctld -f "$SLURM_CONF"; slurmd -f "$SLURM_CONF"
for _ in $(seq 1 100); do [ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ] && exit 0; sleep 0.2; done
echo "slurm_local: the node did not become idle; see $W/log" >&2; exit 1
