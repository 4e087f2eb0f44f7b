#!/bin/bash
# The rolling restart's hand-over of the master role, with no acknowledged
# write lost; playbooks/drills/switchover.yml says why each step is there.
# Runs on a Sentinel host, in one go: Ansible's own pace between tasks
# (a second or more on a busy control node) would stretch the write pause.
#
#   1. CLIENT PAUSE WRITE on the old master;
#   2. wait until every replica has every byte of it;
#   3. SENTINEL FAILOVER, wait until every Sentinel names the new master;
#   4. wait until the old master has no replica left, drop its clients, wait
#      until every Sentinel names the new master, make the old master a
#      replica of the new one and drop its clients again, lift the pause.
# The pause is lifted on every way out. Prints key:value lines (read them with
# the tickstock_info filter): paused_at, caught_up_at, failover_at,
# new_master, new_master_at, old_alone_at, sentinels_agree_at, unpaused_at
# (epoch seconds), and error when it gives up.
#
# Environment: OLD_MASTER (address), REDIS_PORT, REDIS_USER, REDIS_PASS,
# SENTINEL_PORT, SENTINEL_USER, SENTINEL_PASS, SENTINELS (every Sentinel's
# address, space-separated), MASTER_NAME, REPLICAS (how many the old master
# has), PAUSE_MS (longest pause), TIMEOUT_S (per wait).
set -uo pipefail

now() { date +%s.%N; }
redis() { REDISCLI_AUTH=$REDIS_PASS redis-cli -h "$OLD_MASTER" -p "$REDIS_PORT" --user "$REDIS_USER" "$@"; }
sentinel() { REDISCLI_AUTH=$SENTINEL_PASS redis-cli -h 127.0.0.1 -p "$SENTINEL_PORT" --user "$SENTINEL_USER" "$@"; }
sentinel_at() {
  local host=$1
  shift
  REDISCLI_AUTH=$SENTINEL_PASS redis-cli -h "$host" -p "$SENTINEL_PORT" --user "$SENTINEL_USER" "$@"
}
info() { redis INFO replication | tr -d '\r'; }

paused=0
unpause() {
  if [ "$paused" = 1 ]; then
    redis CLIENT UNPAUSE >/dev/null
    paused=0
    echo "unpaused_at:$(now)"
  fi
}
trap unpause EXIT
give_up() { echo "error:$*"; exit 1; }
# wait_for <what> <command...>: run the command every 20 ms until it succeeds.
wait_for() {
  local what=$1 deadline
  shift
  deadline=$(( $(date +%s) + TIMEOUT_S ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || give_up "no $what within $TIMEOUT_S s"
    sleep 0.02
  done
}

# Every replica online, at the master's offset, and as many as expected.
caught_up() {
  info | awk -F '[:,=]' -v want="$REPLICAS" '
    $1 == "master_repl_offset" { master = $2 }
    $1 ~ /^slave[0-9]+$/ {
      n++
      for (i = 2; i < NF; i += 2) { if ($i == "offset") offset[n] = $(i + 1); if ($i == "state") state[n] = $(i + 1) }
    }
    END {
      if (n != want) exit 1
      for (k = 1; k <= n; k++) if (offset[k] != master || state[k] != "online") exit 1
    }'
}
new_master=""
switched() {
  new_master=$(sentinel SENTINEL get-master-addr-by-name "$MASTER_NAME" | head -n 1)
  [ -n "$new_master" ] && [ "$new_master" != "$OLD_MASTER" ]
}
# Clients ask any Sentinel where the master is, and redis-py reads the ip of
# SENTINEL MASTERS, which the Sentinel leading the failover changes only when
# the failover ends (get-master-addr-by-name names the promoted replica
# earlier). One still naming the old master would send clients back to it
# once it is demoted: every write refused there, resent, and every PUBLISH
# delivered there each time (lab: one pattern event 5 or 6 times).
all_agree() {
  local host
  for host in $SENTINELS; do
    [ "$(sentinel_at "$host" --raw SENTINEL MASTER "$MASTER_NAME" | awk 'key == "ip" { print; exit } { key = $0 }')" \
      = "$new_master" ] || return 1
  done
}
alone() { info | grep -qx 'connected_slaves:0'; }

echo "paused_at:$(now)"
[ "$(redis CLIENT PAUSE "$PAUSE_MS" WRITE)" = OK ] || give_up "CLIENT PAUSE refused"
paused=1
wait_for "catch-up of the replicas" caught_up
echo "caught_up_at:$(now)"

echo "failover_at:$(now)"
[ "$(sentinel SENTINEL FAILOVER "$MASTER_NAME")" = OK ] || give_up "SENTINEL FAILOVER refused"
wait_for "new master" switched
echo "new_master:$new_master"
echo "new_master_at:$(now)"

wait_for "departure of the old master's replicas" alone
echo "old_alone_at:$(now)"
# Send the clients to Sentinel now; one told the old master again finds it
# still paused, and what it sends waits there, unrun, until the demotion.
redis CLIENT KILL TYPE normal >/dev/null || give_up "CLIENT KILL failed"
wait_for "agreement of every Sentinel" all_agree
echo "sentinels_agree_at:$(now)"
if info | grep -qx 'role:master'; then
  # As Sentinel demotes a master, in one transaction: nothing the clients sent
  # during the pause runs on the old side.
  out=$(printf '%s\n' MULTI "REPLICAOF $new_master $REDIS_PORT" "CONFIG REWRITE" \
          "CLIENT KILL TYPE normal" "CLIENT KILL TYPE pubsub" EXEC | redis 2>&1)
  info | grep -qx 'role:slave' || give_up "demotion failed: $(echo "$out" | tr '\n' ' ')"
fi
unpause
