#!/bin/sh
# Puts `mtactl env --markdown` between the variables markers of the README
# (write), or fails when what is there differs from it (check).
set -eu
mtactl=$1 readme=$2 mode=$3
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.table"' EXIT
"$mtactl" env --markdown >"$tmp.table"
awk -v table="$tmp.table" '
	/^<!-- variables:begin/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
	/^<!-- variables:end/ { skip = 0 }
	!skip { print }
' "$readme" >"$tmp"
if [ "$mode" = write ]; then
	cat "$tmp" >"$readme"
elif ! cmp -s "$tmp" "$readme"; then
	echo "README.md: the variable reference is out of date; run make readme" >&2
	diff -u "$readme" "$tmp" >&2 || true
	exit 1
fi
