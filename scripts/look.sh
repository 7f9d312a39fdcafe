#!/usr/bin/env bash
# Look at the app as a person would: launch the real window on a virtual display, drive it with
# the keyboard and mouse, and save whole-screen screenshots to open with your file viewer.
#   bash scripts/look.sh [OUT_DIR]   (from the project root; PY=interpreter, EPOCH_WAIT_S=90)
# Needs: Xvfb, xdotool, imagemagick (apt-get install -y xvfb xdotool imagemagick).
# Shots: 1 launch, 2 gallery loaded, 3-4 the 3D view orbited (look for see-through or broken
# surfaces), 5 a slider dragged, 6 Training view, 7 after one epoch, 8 the quit prompt.
set -u
out=${1:-look-shots}; mkdir -p "$out"
py=${PY:-python3}; [ -z "${PY:-}" ] && [ -x .venv/bin/python ] && py=.venv/bin/python
for t in Xvfb xdotool import; do command -v $t >/dev/null || { echo "missing: $t (apt-get install -y xvfb xdotool imagemagick)"; exit 1; }; done
disp=:$(( 90 + RANDOM % 9 )); Xvfb $disp -screen 0 1600x1000x24 >/dev/null 2>&1 & X=$!
export DISPLAY=$disp; sleep 1
home=$(mktemp -d); HOME=$home $py main.py >"$out/app.log" 2>&1 & A=$!
cleanup() { kill $A 2>/dev/null; sleep 1; kill -9 $A 2>/dev/null; kill $X 2>/dev/null; rm -rf "$home"; }
trap cleanup EXIT
shot() { import -window root "$out/$1.png" 2>/dev/null && echo "$out/$1.png"; }
sleep 2; shot 1-launch
wid=""; for i in $(seq 1 30); do wid=$(xdotool search --pid $A --onlyvisible --name . 2>/dev/null | head -1); [ -n "$wid" ] && break; sleep 1; done
[ -n "$wid" ] || { echo "no window appeared; see $out/app.log"; exit 1; }
k() { xdotool windowfocus --sync "$wid" 2>/dev/null; xdotool key --window "$wid" "$@" 2>/dev/null; }
sleep 18; shot 2-gallery
eval "$(xdotool getwindowgeometry --shell "$wid")"   # X Y WIDTH HEIGHT
cx=$((X + WIDTH / 2)); cy=$((Y + HEIGHT * 2 / 5))
xdotool mousemove $cx $cy mousedown 1 mousemove $((cx + 120)) $((cy + 40)) mouseup 1; sleep 1; shot 3-orbit
xdotool mousemove $cx $cy mousedown 1 mousemove $((cx - 60)) $((cy - 160)) mouseup 1; sleep 1; shot 4-orbit-again
sx=$((X + WIDTH - 130)); sy=$((Y + HEIGHT / 6))
xdotool mousemove $sx $sy mousedown 1 mousemove $((sx + 30)) $sy mouseup 1; sleep 1; shot 5-slider
k ctrl+1; sleep 1; shot 6-training
k F5; sleep ${EPOCH_WAIT_S:-90}; shot 7-one-epoch
k shift+F5; sleep 3; k ctrl+q; sleep 1.5; shot 8-quit-prompt
echo "open each PNG above; the app's log is $out/app.log"
