#!/bin/bash
# A/B: `sbx exec -- /bin/true`, frozen main vs branch, each with its own supervisor running,
# alternating short hyperfine runs (ROUNDS x RUNS), plus bare /bin/true in each round.
ROUNDS=${ROUNDS:-6}; RUNS=${RUNS:-20}; OUT=${OUT:-/tmp/su/bench/ab}
mkdir -p $OUT
setup() { # $1=name $2=sbx
  local W=/tmp/su/bench/ab-$1; rm -rf $W; mkdir -p $W/home/{config,state,data,cache} $W/run $W/proj; chmod 700 $W/run
  echo "env HOME=$W/home XDG_CONFIG_HOME=$W/home/config XDG_STATE_HOME=$W/home/state XDG_DATA_HOME=$W/home/data XDG_CACHE_HOME=$W/home/cache XDG_RUNTIME_DIR=$W/run TERM=dumb LANG=C.UTF-8 PATH=$PATH"
}
EM=$(setup main); EB=$(setup branch)
$EM /tmp/su/frozen/bin/sbx daemon start; $EB /work/wt-startup/bin/sbx daemon start
for r in $(seq $ROUNDS); do
  echo "round $r $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd /tmp/su/bench/ab-main/proj && $EM hyperfine -N -w 3 -r $RUNS --export-json $OUT/main-$r.json '/bin/true' '/tmp/su/frozen/bin/sbx exec -- /bin/true' >/dev/null 2>&1)
  (cd /tmp/su/bench/ab-branch/proj && $EB hyperfine -N -w 3 -r $RUNS --export-json $OUT/branch-$r.json '/bin/true' '/work/wt-startup/bin/sbx exec -- /bin/true' >/dev/null 2>&1)
done
echo "end $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
$EM /tmp/su/frozen/bin/sbx daemon stop --force; $EB /work/wt-startup/bin/sbx daemon stop --force
python3 - $OUT <<'PY'
import json,glob,statistics,sys
out=sys.argv[1]
for who in ['main','branch']:
    bare=[];sb=[];mins=[]
    for f in sorted(glob.glob(f'{out}/{who}-*.json')):
        d=json.load(open(f))['results']
        bare+=d[0]['times']; sb+=d[1]['times']
    print(f"{who:7s} sbx exec median {statistics.median(sb)*1e3:6.1f} ms  best {min(sb)*1e3:6.1f} ms  p25 {statistics.quantiles(sb,n=4)[0]*1e3:6.1f}  (n={len(sb)})  bare /bin/true median {statistics.median(bare)*1e3:5.1f} best {min(bare)*1e3:4.1f}")
PY
