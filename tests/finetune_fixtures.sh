# tests/finetune_fixtures.sh — sourced by t_finetune.sh and t_finetune_mpi.sh:
# ft_fixtures DIR writes DIR/{train,dev}.tsv (sentiment decided by one word)
# and DIR/{train,dev}.conll (names and places tagged), every fifth example to dev.
ft_fixtures() {
    names="রহিম করিম সুমন রাজু মিনা রিনা"
    places="ঢাকা খুলনা রাজশাহী সিলেট বরিশাল"
    things="ছবিটা গানটা খাবারটা বইটা খেলাটা দোকানটা"
    printf 'text\tlabel\n' > "$1/train.tsv"
    printf 'text\tlabel\n' > "$1/dev.tsv"
    : > "$1/train.conll"
    : > "$1/dev.conll"
    i=0
    for nm in $names; do
        for s in $things; do
            i=$((i + 1)); f=train; [ $((i % 5)) -eq 0 ] && f=dev
            if [ $((i % 2)) -eq 0 ]; then w=ভালো l=pos; else w=খারাপ l=neg; fi
            printf '%s বলল %s খুব %s\t%s\n' "$nm" "$s" "$w" "$l" >> "$1/$f.tsv"
        done
        for p in $places; do
            i=$((i + 1)); f=train; [ $((i % 5)) -eq 0 ] && f=dev
            printf '%s\tB-PER\nগতকাল\tO\n%s\tB-LOC\nশহরে\tO\nগেল\tO\n\n' "$nm" "$p" >> "$1/$f.conll"
            printf 'আজ\tO\n%s\tB-LOC\nথেকে\tO\n%s\tB-PER\nরায়\tI-PER\nএল\tO\n\n' "$p" "$nm" >> "$1/$f.conll"
        done
    done
}
