#!/usr/bin/env bash
# Man pages (swift-argument-parser's generate-manual plugin, one page per subcommand) and shell
# completions (bash, zsh, fish) for cpctl and controlplane-sync, installed under PREFIX:
#   scripts/install-cli-docs.sh [PREFIX]        (default /usr/local; BUILD_CONFIG=debug to reuse a debug build)
# then `man cpctl.tokens.roll` and tab completion work.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${1:-/usr/local}"
CONFIG="${BUILD_CONFIG:-release}"
cd "$REPO"
swift build -c "$CONFIG" --product cpctl
swift build -c "$CONFIG" --product controlplane-sync
BIN="$(swift build -c "$CONFIG" --show-bin-path)"
swift package --allow-writing-to-package-directory generate-manual --multi-page --configuration "$CONFIG" >/dev/null
OUT="$REPO/.build/plugins/GenerateManual/outputs"
install -d "$PREFIX/share/man/man1" "$PREFIX/share/bash-completion/completions" "$PREFIX/share/zsh/site-functions" \
           "$PREFIX/share/fish/vendor_completions.d"
for tool in cpctl controlplane-sync; do
    [ -f "$OUT/$tool/$tool.1" ] || { echo "no manual was generated for $tool" >&2; exit 1; }
    install -m 0644 "$OUT/$tool/"*.1 "$PREFIX/share/man/man1/"
    "$BIN/$tool" --generate-completion-script bash > "$PREFIX/share/bash-completion/completions/$tool"
    "$BIN/$tool" --generate-completion-script zsh > "$PREFIX/share/zsh/site-functions/_$tool"
    "$BIN/$tool" --generate-completion-script fish > "$PREFIX/share/fish/vendor_completions.d/$tool.fish"
done
echo "installed $(ls "$OUT"/*/*.1 | wc -l) manual pages and bash, zsh and fish completions under $PREFIX"
