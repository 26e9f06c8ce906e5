#!/bin/sh
# scripts/langid-data.sh — builds the language-ID training and held-out sets.
#
#   sh scripts/langid-data.sh [OUTDIR]      (default build/langid-data; run from the repo root)
#
# Writes OUTDIR/train.tsv (concatenation of OUTDIR/src_{flores,raw,dict,mo}.tsv,
# + src_lo.tsv with LO=1), OUTDIR/heldout.tsv (FLORES lines never trained on) and
# OUTDIR/ood.tsv (out-of-domain test = ood_gtk.tsv, GTK's messages for as bn hi
# mr ne, + ood_raw.tsv, the *valid* splits of ../shared/data/raw for bn and hi),
# lines LANG<TAB>TEXT.
# Sources (see assets/langid/MODEL_CARD.md for licences):
#  - ../shared/data/langid/flores200-dev-devtest/<lang>.txt: lines 1-1509 train,
#    lines 1510-2009 held out. The split is by line number, the same for every
#    language, so no sentence of the held-out part has a translation in train.
#  - ../shared/data/raw/{bn,hi}: the *train* files only, every k-th line.
#  - Debian hunspell dictionaries hunspell-bn, hunspell-hi, hunspell-ne: stems
#    (the part before "/"), grouped 3 per line in dictionary order, every 10th line.
#  - Debian message catalogues (.mo) for as bn hi mr ne from the packages in
#    MO_PACKAGES: every translated string (msgstr), markup and format specifiers removed.
# Needs: msgunfmt (gettext), gzip, awk. Installs missing Debian packages with apt when root.
set -eu
OUT=${1:-build/langid-data}
SHARED=${BH_SHARED:-../shared}
FLORES=$SHARED/data/langid/flores200-dev-devtest
LANGS="as bn en gu hi kn ml mr ne or pa sa ta te ur"
HUNSPELL_PACKAGES="hunspell-bn hunspell-hi hunspell-ne"
MO_PACKAGES="iso-codes libpam-runtime libglib2.0-data
libgdk-pixbuf2.0-common at-spi2-common software-properties-common xdg-user-dirs shared-mime-info
packagekit gsettings-desktop-schemas python-apt-common libapt-pkg6.0 dpkg apt appstream login gettext"
# GTK's catalogues are kept out of training: they are the out-of-domain test
# for as/mr/ne (the only other text we have in those languages is FLORES).
MO_HELDOUT_PACKAGES="libgtk2.0-common libgtk-3-common"
MO_LANGS="as bn hi mr ne"
LO_PACKAGES="libreoffice-l10n-as libreoffice-l10n-bn libreoffice-l10n-hi libreoffice-l10n-mr libreoffice-l10n-ne"

if [ ! -d "$FLORES" ]; then
    echo "langid-data: $FLORES not found (set BH_SHARED)" >&2
    exit 1
fi
missing=""
for p in $HUNSPELL_PACKAGES $MO_PACKAGES $MO_HELDOUT_PACKAGES; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "langid-data: installing:$missing" >&2
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

mkdir -p "$OUT"
train=$OUT/train.tsv
held=$OUT/heldout.tsv
: >"$held"
rm -f "$OUT"/src_*.tsv

# label PREFIX: prefixes every line with "LANG<TAB>", drops empty lines.
label() { awk -v L="$1" 'NF { print L "\t" $0 }'; }

for l in $LANGS; do
    sed -n '1,1509p' "$FLORES/$l.txt" | label "$l" >>"$OUT/src_flores.tsv"
    sed -n '1510,2009p' "$FLORES/$l.txt" | label "$l" >>"$held"
done

# every-kth LANG K: keeps every K-th line of 20..600 bytes (deterministic sample).
every_kth() { awk -v K="$1" 'length($0) >= 20 && length($0) <= 600 && (++n % K) == 0'; }
R=$SHARED/data/raw
{
    every_kth 6 <"$R/hi/hindi-discourse-stories/hindi_discourse_stories.train.txt"
    every_kth 4 <"$R/hi/leipzig-hin-mixed-2019-10k/hin_mixed_2019.train.txt"
    every_kth 40 <"$R/hi/covid19-hindi-news-2020/covid19_hindi_news.train.txt"
    gzip -dc "$R/hi/hindi-aesthetics-corpus/hindi_aesthetics.train.txt.gz" | every_kth 400
} | label hi >>"$OUT/src_raw.tsv"
{
    every_kth 20 <"$R/bn/prothomalo-ittefaq-news-2026/bn_news.train.txt"
    gzip -dc "$R/bn/sachalayatan-blog/sachalayatan.train.txt.gz" | every_kth 200
    gzip -dc "$R/bn/istishon-blog/istishon.train.txt.gz" | every_kth 200
} | label bn >>"$OUT/src_raw.tsv"

# Hunspell stems, three per line, every 10th line only: the Nepali and Hindi
# dictionaries are full of Sanskrit-origin stems, and all of them together
# pulled classical Sanskrit (verse) toward ne/hi.
stems() {
    sed -e '1d' -e 's|/.*||' -e 's/[[:space:]].*//' "$1" |
        awk 'NF { printf "%s%s", $0, (++n % 3) ? " " : "\n" } END { print "" }' | awk 'NR % 10 == 0'
}
stems /usr/share/hunspell/bn_BD.dic | label bn >>"$OUT/src_dict.tsv"
stems /usr/share/hunspell/hi_IN.dic | label hi >>"$OUT/src_dict.tsv"
stems /usr/share/hunspell/ne_NP.dic | label ne >>"$OUT/src_dict.tsv"

# Message catalogues: msgstr strings, without \n escapes, printf specifiers,
# markup and keyboard accelerators. mo_strings LANG PACKAGE...
mo_files() {
    ml=$1
    shift
    for p in "$@"; do
        dpkg -L "$p" 2>/dev/null | grep -E "/locale/$ml/LC_MESSAGES/[^/]+\.mo\$" || true
    done | sort -u
}
# mo_text: msgstr strings of the .mo files named on stdin, cleaned, sorted, unique.
mo_text() {
    while read -r mo; do
        msgunfmt "$mo" 2>/dev/null || true
    done | awk '
        /^msgstr/ { s = $0; sub(/^msgstr(\[[0-9]+\])? */, "", s); instr = 1; buf = s; next }
        /^"/ && instr { buf = buf $0; next }
        { if (instr) out(buf); instr = 0 }
        END { if (instr) out(buf) }
        function out(b) {
            gsub(/""/, "", b); gsub(/^"|"$/, "", b); gsub(/\\[nt]/, " ", b); gsub(/\\"/, "\"", b)
            gsub(/%[-0-9.]*[a-zA-Z]/, " ", b); gsub(/<[^>]*>/, " ", b); gsub(/_/, "", b)
            gsub(/[[:space:]]+/, " ", b); sub(/^ /, "", b); sub(/ $/, "", b)
            if (length(b) >= 6) print b
        }' | sort -u
}
mo_strings() {
    ml=$1
    shift
    mo_files "$ml" "$@" | mo_text
}
# Optional (LO=1): LibreOffice's UI translations, fetched with `apt-get download`
# (no install: the packages depend on LibreOffice itself), unpacked under OUT/debs.
# Measured: better on software messages, worse on short Nepali FLORES lines
# (91.6% -> 87.6%), so the shipped model is trained without them.
rm -f "$OUT/src_lo.tsv"
if [ -n "${LO:-}" ]; then
    mkdir -p "$OUT/debs"
    for p in $LO_PACKAGES; do
        ls "$OUT/debs/${p}_"*.deb >/dev/null 2>&1 || (cd "$OUT/debs" && apt-get download "$p" >/dev/null 2>&1)
        dpkg-deb -x "$OUT/debs/${p}_"*.deb "$OUT/debs/x"
    done
    for l in $MO_LANGS; do
        ls "$OUT/debs/x/usr/lib/libreoffice/program/resource/$l/LC_MESSAGES/"*.mo 2>/dev/null | mo_text |
            label "$l" >>"$OUT/src_lo.tsv"
    done
fi
ood=$OUT/ood.tsv
rm -f "$OUT/ood_gtk.tsv" "$OUT/ood_raw.tsv"
for l in $MO_LANGS; do
    mo_strings "$l" $MO_PACKAGES >"$OUT/mo_$l.txt"
    label "$l" <"$OUT/mo_$l.txt" >>"$OUT/src_mo.tsv"
    # held-out GTK strings that do not also occur in the training catalogues
    # and whose letters are mostly not Latin (GTK has many "GtkWidget ..." strings)
    mo_strings "$l" $MO_HELDOUT_PACKAGES | comm -23 - "$OUT/mo_$l.txt" |
        LC_ALL=C awk '{ t = $0; a = gsub(/[A-Za-z]/, "", t); h = gsub(/[\200-\377]/, "", t); if (h >= 9 && h > 6 * a) print }' |
        label "$l" >>"$OUT/ood_gtk.tsv"
    rm -f "$OUT/mo_$l.txt"
done
{
    every_kth 2 <"$R/hi/hindi-discourse-stories/hindi_discourse_stories.valid.txt"
    every_kth 1 <"$R/hi/leipzig-hin-mixed-2019-10k/hin_mixed_2019.valid.txt"
    every_kth 5 <"$R/hi/covid19-hindi-news-2020/covid19_hindi_news.valid.txt"
    every_kth 1 <"$R/hi/bbc-hindi-news-test/bbc_hindi_news.valid.txt"
    gzip -dc "$R/hi/hindi-aesthetics-corpus/hindi_aesthetics.valid.txt.gz" | every_kth 20
} | label hi >>"$OUT/ood_raw.tsv"
{
    every_kth 2 <"$R/bn/prothomalo-ittefaq-news-2026/bn_news.valid.txt"
    gzip -dc "$R/bn/sachalayatan-blog/sachalayatan.valid.txt.gz" | every_kth 5
    gzip -dc "$R/bn/istishon-blog/istishon.valid.txt.gz" | every_kth 5
} | label bn >>"$OUT/ood_raw.tsv"
cat "$OUT/ood_gtk.tsv" "$OUT/ood_raw.tsv" >"$ood"

# Training set: the sources above, in this order.
cat "$OUT/src_flores.tsv" "$OUT/src_raw.tsv" "$OUT/src_dict.tsv" "$OUT/src_mo.tsv" ${LO:+"$OUT/src_lo.tsv"} >"$train"
echo "langid-data: $(wc -l <"$train") training, $(wc -l <"$held") held-out, $(wc -l <"$ood") out-of-domain lines in $OUT" >&2
cut -f1 "$train" | sort | uniq -c | awk '{ printf "  %s %s\n", $2, $1 }' >&2
