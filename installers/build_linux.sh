#!/usr/bin/env bash
# Build the one-folder Linux bundle dist/brainmri/ and prove it works: the bundle is copied to a fresh folder and
# its headless self-test is run there with a PATH that holds no Python. Then prints the bundle size and its
# start-up times next to the source install's (venv), measured in the same run.
#   installers/build_linux.sh                                   # needs .venv with the app: pip install -e ".[build]"
#   BRAINMRI_MODEL_DIR=/path/to/model installers/build_linux.sh # ship another model folder
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
VENV_BIN=${VENV_BIN:-$REPO_ROOT/.venv/bin}
DIST=${DIST:-$REPO_ROOT/dist}
WORK=${WORK:-$REPO_ROOT/build/pyinstaller}

"$VENV_BIN/python" -m PyInstaller --version >/dev/null 2>&1 || "$VENV_BIN/python" -m pip install -q "pyinstaller>=6.10"
started=$(date +%s)
# nice: the build is CPU-heavy for minutes; keep the machine responsive for others.
nice -n 10 "$VENV_BIN/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" installers/brainmri.spec
echo "built $DIST/brainmri in $(( $(date +%s) - started )) s"

# Everything below runs from a copy in another folder, so nothing may depend on the build location or on Python.
check_dir=$(mktemp -d)
trap 'rm -rf "$check_dir"' EXIT
cp -a "$DIST/brainmri" "$check_dir/"
mkdir "$check_dir/empty-bin"
bundle_env=(env -i HOME="$HOME" PATH="$check_dir/empty-bin" QT_QPA_PLATFORM=offscreen)

seconds() {  # wall time of a command, in seconds with two decimals; its output is discarded
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    echo "$start $end" | awk '{printf "%.2f", $2 - $1}'
}

"${bundle_env[@]}" "$check_dir/brainmri/brainmri" --self-test
echo "bundle size: $(du -sh "$check_dir/brainmri" | cut -f1) ($(find "$check_dir/brainmri" -type f | wc -l) files)"
echo "start-up (wall s)      bundle   venv"
echo "brainmri-cli --version $(seconds "${bundle_env[@]}" "$check_dir/brainmri/brainmri-cli" --version)     $(seconds "$VENV_BIN/brainmri-cli" --version)"
echo "brainmri --self-test   $(seconds "${bundle_env[@]}" "$check_dir/brainmri/brainmri" --self-test)    $(seconds env QT_QPA_PLATFORM=offscreen "$VENV_BIN/brainmri" --self-test)"
