#!/bin/sh
# Prepares the repositories `make run` serves, once: a bare repository
# (.run/remote.git, what the server clones and pushes API writes to, as a
# Git host would be) and a working clone of it (.run/prompts, where you
# edit, commit and `git push` by hand). Seeded from examples/prompts.
# A .run/prompts made by an older `make run` (a working repository without a
# remote) becomes the clone of a new bare repository, its history kept.
set -eu
seed=${1:?usage: run-repos.sh SEED_DIR RUN_DIR}
run=${2:?usage: run-repos.sh SEED_DIR RUN_DIR}
bare="$run/remote.git"
work="$run/prompts"

if [ -d "$bare" ]; then
	exit 0
fi
mkdir -p "$run"
if [ ! -d "$work/.git" ]; then
	git init -q -b main "$work"
	cp -R "$seed"/. "$work"/
	git -C "$work" add -A
	git -C "$work" -c user.name=promptreg -c user.email=promptreg@localhost \
		commit -q -m "Seed prompt repository from $seed"
fi
git clone -q --bare "$work" "$bare"
git -C "$work" remote remove origin 2>/dev/null || true
git -C "$work" remote add origin "$(cd "$bare" && pwd)"
git -C "$work" fetch -q origin
git -C "$work" branch -q --set-upstream-to=origin/main main
echo "run-repos: serving $bare; edit, commit and git push in $work"
