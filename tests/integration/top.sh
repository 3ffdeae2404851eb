# tests/integration/top.sh - `ldprof top` in a real terminal (tmux), sourced
# by run.sh (uses its $W, $BIN, $LDPROF, pass, fail).
#
# top_prog allocates, then stops at a pause point and writes exactly how many
# bytes it holds live; the test waits (bounded) for the screen to show that
# figure, presses q and checks top's exit status. Then `ldprof top --pid`
# finds the same process's trace by itself, shows the same figure, and ends
# by itself with a last screen when the program exits. A private tmux server
# (-L), stopped by its pid.
T=$W/top
mkdir -p "$T"
if ! command -v tmux > /dev/null; then
	echo "skip top: no tmux (scripts/setup-deps.sh installs it)"
else
	TM="tmux -L ldprof-top-$$ -f /dev/null"
	# wait_for FILE-OR-PANE PATTERN SECONDS: bounded polling, never a fixed sleep
	screen_has() { # PANE PATTERN SECONDS
		local i
		for i in $(seq 1 $((${3} * 10))); do
			$TM capture-pane -p -S -10 -t "$1" > "$T/screen.txt" 2> /dev/null && grep -q -- "$2" "$T/screen.txt" && return 0
			sleep 0.1
		done
		return 1
	}
	file_has() { # FILE PATTERN SECONDS
		local i
		for i in $(seq 1 $((${3} * 10))); do
			[ -f "$1" ] && grep -q -- "$2" "$1" && return 0
			sleep 0.1
		done
		return 1
	}
	"$LDPROF" record -q -o "$T/app.ldp" -- "$BIN/top_prog" "$T/state" "$T/go" > /dev/null 2>&1 &
	rec=$!
	ok=0
	if file_has "$T/state" live_bytes 60; then
		live=$(awk '/^live_bytes/ {print $2}' "$T/state")
		shown=$(printf "%'d" "$live" 2> /dev/null)
		[ "$shown" = "$live" ] && shown=$(echo "$live" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
		# a first window that idles, so the server outlives the views; panes
		# stay after their command exits (the last screen is checked)
		$TM new-session -d -s top -x 120 -y 40 "sleep 600"
		server=$($TM display-message -p '#{pid}')
		$TM set-option -g -w remain-on-exit on
		$TM new-window -t top -n byname "'$LDPROF' top --interval 0.2 '$T/app.ldp'; echo \"top exited \$?\" > '$T/top1.status'"
		if screen_has top:byname "heap live *$shown B" 30; then
			$TM send-keys -t top:byname q
			if file_has "$T/top1.status" "top exited 0" 10; then ok=1
			else echo "     q: $(cat "$T/top1.status" 2> /dev/null)"; fi
		else
			echo "     the screen never showed $shown B live:"; sed 's/^/     | /' "$T/screen.txt" | head -12
		fi
		if [ $ok = 1 ]; then
			pid=$(pgrep -f "^$BIN/top_prog $T/state" | head -1) # the program, not ldprof record
			$TM new-window -t top -n bypid "'$LDPROF' top --interval 0.2 --pid $pid; echo \"top exited \$?\" > '$T/top2.status'"
			if screen_has top:bypid "heap live *$shown B" 30; then
				touch "$T/go" # the program frees everything and exits: top ends by itself
				if file_has "$T/top2.status" "top exited 0" 30 && screen_has top:bypid "\[exit\]" 5 &&
					screen_has top:bypid "heap live *0 B" 1; then ok=2
				else echo "     --pid did not end with the program:"; sed 's/^/     | /' "$T/screen.txt" | head -6; fi
			else
				echo "     --pid: the screen never showed $shown B live:"; sed 's/^/     | /' "$T/screen.txt" | head -12
			fi
		fi
		[ -n "$server" ] && kill "$server" 2> /dev/null
	else
		echo "     top_prog never reached its pause point"
	fi
	touch "$T/go"
	wait $rec
	if [ $ok = 2 ]; then
		pass "top: under tmux the live heap shown = the program's own $shown B at its pause point; q exits 0; --pid finds the trace and ends with the program"
	else fail "top"; fi
fi
