#!/bin/sh
# tests/t_qa.sh — extractive QA end to end: `bhasha finetune --task qa` on a
# tiny randomly initialised encoder (JSON-lines training file, SQuAD JSON dev
# file) whose loss must fall; `bhasha qa` writes one JSON line per input line,
# answers whose code point offsets cut exactly the answer out of the ORIGINAL
# context (also for a context longer than one window), and {"error":...}
# lines for bad input; `bhasha corpus cloze` is deterministic and its answers
# sit at their offsets; `bhasha corpus squad-split` halves are disjoint; the
# shipped model's answers are whole grapheme clusters.
. tests/tap.sh
TOK=assets/spm/bnhi.model
if [ ! -f "$TOK" ]; then
    skip "qa" "$TOK missing"
    done_testing
    exit 0
fi
D=$(mktemp -d "${BUILD:-build}/t_qa.XXXXXX")
trap 'rm -rf "$D"' EXIT
HAVE_JQ=0
command -v jq >/dev/null 2>&1 && HAVE_JQ=1

# --- fixtures: "who went where" questions; the answer's place varies with the sentence order
names="रहीम करीम सुमन राजू मीना रीना अमित सीता"
places="दिल्ली मुंबई पटना लखनऊ भोपाल जयपुर"
: > "$D/train.jsonl"
dev='{"version":"1.1","data":[{"title":"t","paragraphs":['
i=0
for nm in $names; do
    for p in $places; do
        i=$((i + 1))
        if [ $((i % 2)) -eq 0 ]; then
            ctx="कल शाम $nm बस से $p गया । आज सुबह बारिश हुई ।"
        else
            ctx="आज सुबह बारिश हुई । कल शाम $nm बस से $p गया ।"
        fi
        q="$nm कल शाम कहाँ गया ?"
        start=$(printf '%s' "${ctx%%$p*}" | wc -m | tr -d ' ')
        line="{\"id\":\"q$i\",\"context\":\"$ctx\",\"question\":\"$q\",\"answers\":[{\"text\":\"$p\",\"answer_start\":$start}]}"
        if [ $((i % 5)) -eq 0 ]; then
            [ "$dev" = "${dev%[}" ] && dev="$dev,"
            dev="$dev{\"context\":\"$ctx\",\"qas\":[{\"id\":\"q$i\",\"question\":\"$q\",\"answers\":[{\"text\":\"$p\",\"answer_start\":$start}]}]}"
        else
            printf '%s\n' "$line" >> "$D/train.jsonl"
        fi
    done
done
printf '%s]}]}\n' "$dev" > "$D/dev.json"
cat > "$D/enc.json" <<'JSON'
{"arch":"encoder","vocab":16000,"max_len":32,"dim":16,"layers":2,"heads":2,"ffn":32,"pad_id":3,"mask_id":4,"dropout":0}
JSON

# falls: the last epoch's mean training loss is below FRAC of the first's
falls() { awk -v f="$2" '/^epoch /{l[++n]=$4} END{exit !(n > 1 && l[n] < f * l[1])}' "$1"; }

$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/train.jsonl" --dev "$D/dev.json" \
    --test "$D/dev.json" --out "$D/m" --epochs 8 --lr 1e-2 --batch 8 --max-len 32 --stride 8 --log-every 1000 \
    --patience 0 > "$D/ft.out" 2> "$D/ft.err"
is "qa finetune exits 0" "$?" "0"
ok "qa training loss falls" falls "$D/ft.out" 0.7
ok "progress with tok/s on stderr" grep -q 'tok/s' "$D/ft.err"
ok "dev SQuAD F1 per epoch on stderr" grep -q 'dev SQuAD EM [0-9.]* F1 [0-9.]*' "$D/ft.err"
ok "summary: squad_f1, test exact match" grep -q '"metric":"squad_f1".*"test_exact_match"' "$D/ft.out"
ok "checkpoint: encoder + span head + tokenizer + settings" test -f "$D/m/model.safetensors" -a -f "$D/m/tokenizer.model" -a -f "$D/m/finetune.json"
ok "the span head lives in the encoder's config" grep -q '"kind": *"span"' "$D/m/config.json"
ok "window settings saved" grep -q '"stride": 8' "$D/m/finetune.json"
if $BH --version | grep -q "bf16 available"; then
    $BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/train.jsonl" --dev "$D/dev.json" \
        --out "$D/mb" --epochs 8 --lr 1e-2 --batch 8 --max-len 32 --stride 8 --log-every 1000 --patience 0 \
        --precision bf16 > "$D/fb.out" 2> /dev/null
    is "qa finetune --precision bf16: exit 0, training loss falls" "$?:$(falls "$D/fb.out" 0.7 && echo falls)" "0:falls"
else
    skip "qa finetune --precision bf16" "no AVX512-BF16"
fi

# --- bhasha qa: good lines, one context of several windows, bad lines
long="पहले बहुत सारी बातें हुईं और लोग इधर उधर घूमते रहे । फिर बारिश हुई और सब घर लौट आए और सबने खाना खाया । शाम को बच्चे   खेलने गए और देर तक खेलते रहे । कल शाम अमित बस से पटना गया ।"
{
    printf '{"id":1,"context":"आज सुबह बारिश हुई । कल शाम  सीता बस से जयपुर गया ।","question":"सीता कल शाम कहाँ गया ?"}\n'
    printf '{"context":"%s","question":"अमित कल शाम कहाँ गया ?"}\n' "$long"
    printf '{"context":"","question":"कौन ?"}\n'
    printf 'not json\n'
    printf '{"context":"छोटा","question":"यह बहुत लंबा सवाल है ?"}\n'
    printf '{"context":"कुछ भी लिखा है यहाँ","question":"   "}\n'
    printf '{"question":"कहाँ ?"}\n'
} > "$D/in.jsonl"
$BH qa --model "$D/m" "$D/in.jsonl" > "$D/out.jsonl" 2> "$D/qa.err"
is "qa: exit 0 (bad lines are answered with errors)" "$?" "0"
is "qa: one output line per input line" "$(wc -l < "$D/out.jsonl" | tr -d ' ')" "7"
is "qa: answers on the good lines" "$(head -2 "$D/out.jsonl" | grep -c '"answer":".*","start":[0-9]*,"end":[0-9]*,"score":[0-9.]*}$')" "2"
is "qa: {\"error\":...} on the bad lines" "$(tail -5 "$D/out.jsonl" | grep -c '^{"error":"[^"]')" "5"
ok "qa: the id is echoed" grep -q '^{"id":1,"answer"' "$D/out.jsonl"
ok "qa: the reason on stderr with the line number" grep -q 'line 5: the context (4 characters) is shorter than the question' "$D/qa.err"
ok "qa: the long context needs more than one window" test "$(printf '%s' "$long" | wc -m)" -gt 100
# --squad: a SQuAD file in, one prediction object out, which bhasha eval qa
# scores as fine-tuning scored the same model on the same file
$BH qa --model "$D/m" --squad "$D/dev.json" > "$D/pred.json" 2> "$D/e"
is "qa --squad: exit 0, one prediction object" "$?:$(grep -c '^{"q[0-9]*":"[^"]*"\(,"q[0-9]*":"[^"]*"\)*}$' "$D/pred.json")" "0:1"
f_cli=$($BH eval qa --gold "$D/dev.json" --pred "$D/pred.json" | sed -n 's/.*"f1":\([0-9.]*\).*/\1/p')
f_ft=$(sed -n 's/.*"test_score":\([0-9.]*\).*/\1/p' "$D/ft.out")
is "qa --squad + eval qa: the F1 fine-tuning reported for the saved model" \
    "$(awk -v a="$f_cli" -v b="$f_ft" 'BEGIN { d = a - b; print (a != "" && d < 0.01 && d > -0.01) ? "same" : a " vs " b }')" "same"
$BH qa --model "$D/m" --squad "$D/dev.json" --top-k 2 < /dev/null > /dev/null 2> "$D/e"
is "qa --squad with --top-k: usage error" "$?:$(wc -l < "$D/e" | tr -d ' ')" "2:1"
$BH qa --model "$D/m" --squad "$D/nope.json" > /dev/null 2> "$D/e"
is "qa --squad: a missing file fails with one line" "$?:$(wc -l < "$D/e" | tr -d ' ')" "1:1"
printf '{"data":[{"paragraphs":[{"context":"छोटा","qas":[{"id":"a","question":"यह बहुत लंबा सवाल है ?","answers":[]}]}' > "$D/cut.json"
$BH qa --model "$D/m" --squad "$D/cut.json" > "$D/cut.out" 2> "$D/e"
is "qa --squad: a cut file fails with one line" "$?:$(wc -l < "$D/e" | tr -d ' '):$(grep -c 'cut.json' "$D/e")" "1:1:1"
printf '{"data":[{"paragraphs":[{"context":"छोटा","qas":[{"id":"a","question":"यह बहुत लंबा सवाल है ?","answers":[]}]},{"context":"कल शाम रमेश बस से पटना गया ।","qas":[{"id":"b","question":"रमेश कहाँ गया ?","answers":[]}]}]}]}' > "$D/short.json"
$BH qa --model "$D/m" --squad "$D/short.json" > "$D/short.out" 2> "$D/e"
is "qa --squad: a question that cannot be answered gets \"\" and a line on stderr" \
    "$?:$(grep -c '^{"a":"","b":"[^"]' "$D/short.out"):$(grep -c 'question a: the context (4 characters) is shorter' "$D/e")" "0:1:1"
$BH qa --model "$D/m" --squad "$D/short.json" --strict > /dev/null 2> /dev/null
is "qa --squad --strict: exit 1 then" "$?" "1"
# --top-k: the best answer's fields as without it, then the K best distinct
# answers, the first the same; errors stay errors
$BH qa --model "$D/m" --top-k 3 "$D/in.jsonl" > "$D/top.jsonl" 2> /dev/null
is "qa --top-k 3: the same answers first, then a list of 3" \
    "$(head -2 "$D/top.jsonl" | sed 's/,"answers":\[.*//')|$(head -2 "$D/out.jsonl" | sed 's/}$//')|$(head -2 "$D/top.jsonl" | grep -c '"answers":\[{"answer":"[^"]*","start":[0-9]*,"end":[0-9]*,"score":[0-9.]*},{[^]]*},{[^]]*}\]}$')" \
    "$(head -2 "$D/out.jsonl" | sed 's/}$//')|$(head -2 "$D/out.jsonl" | sed 's/}$//')|2"
is "qa --top-k 3: bad lines still get errors" "$(tail -5 "$D/top.jsonl" | grep -c '^{"error":"[^"]')" "5"
for k in 0 101 1.5; do
    $BH qa --model "$D/m" --top-k $k < /dev/null > /dev/null 2> "$D/e"
    is "qa --top-k $k: usage error" "$?:$(grep -c -- "--top-k $k" "$D/e")" "2:1"
done
# a null-answer model ranks "no answer" among the spans: here every span
# only repeats the question, so the echo prior puts "no answer" first, and
# --top-k 5 still lists all three spans after it (the last was lost when the
# null answer came first)
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/dev.json" --dev "$D/dev.json" --epochs 1 \
    --null-answer --out "$D/mn" > /dev/null 2>&1
printf '{"context":"ताजमहल ताजमहल","question":"ताजमहल कौन?"}\n' |
    $BH qa --model "$D/mn" --echo-penalty 1000 --top-k 5 > "$D/one.out" 2> /dev/null
is "qa --top-k with a null-answer model: no answer first, then the three spans" \
    "$(grep -o '{"answer":"[^"]*","start":[0-9]*' "$D/one.out" | sed -n 2p)|$(grep -o '{"answer":"[^"]*","start":[0-9]*' "$D/one.out" | sed 1,2d | LC_ALL=C sort | tr '\n' ' ')" \
    '{"answer":"","start":0|{"answer":"ताजमहल ताजमहल","start":0 {"answer":"ताजमहल","start":0 {"answer":"ताजमहल","start":7 '
# how many of the first two answers in OUT satisfy the jq FILTER ($i input line, $o output line)
jq_good() {
    good=0
    for k in 1 2; do
        jq -e -n --argjson i "$(sed -n "${k}p" "$D/in.jsonl")" --argjson o "$(sed -n "${k}p" "$1")" "$2" > /dev/null &&
            good=$((good + 1))
    done
    echo $good
}
if [ $HAVE_JQ = 1 ]; then
    is "qa: start/end cut the answer out of the original context (2 windows too)" \
        "$(jq_good "$D/out.jsonl" '$o.end > $o.start and $i.context[$o.start:$o.end] == $o.answer')" "2"
else
    skip "qa: offsets map back to the context" "no jq"
fi
$BH qa --model "$D/m" --strict "$D/in.jsonl" > /dev/null 2>&1
is "qa --strict: bad lines make the status 1" "$?" "1"
# --sentence: the answer lies in the sentence sharing the question's words
# ("कल शाम ... गया" are in the last sentence of each context only)
$BH qa --model "$D/m" --sentence "$D/in.jsonl" > "$D/outs.jsonl" 2> /dev/null
is "qa --sentence: exit 0, one line per line" "$?:$(wc -l < "$D/outs.jsonl" | tr -d ' ')" "0:7"
if [ $HAVE_JQ = 1 ]; then
    is "qa --sentence: both answers inside the question's sentence" "$(jq_good "$D/outs.jsonl" \
        '$i.context[$o.start:$o.end] == $o.answer and ($i.context | split("।") | .[-2] | contains($o.answer))')" "2"
else
    skip "qa --sentence: the answer's sentence" "no jq"
fi
# --sentence compares words as the model sees them (normalized): a question
# with precomposed nukta letters (U+095B U+095E) picks the same sentence of a
# context that spells them decomposed (ज + ़, फ + ़), and so the same answer
zd=$(printf '\340\244\234\340\244\274\340\244\253\340\244\274\340\244\260')
zp=$(printf '\340\245\233\340\245\236\340\244\260')
for q in "$zd" "$zp"; do
    printf '{"context":"राम दिल्ली में रहता था। %s लखनऊ में रहता था।","question":"%s कहाँ रहता था ?"}\n' "$zd" "$q"
done > "$D/nukta.jsonl"
$BH qa --model "$D/m" --sentence "$D/nukta.jsonl" > "$D/nukta.out" 2> /dev/null
is "qa --sentence: a precomposed nukta in the question matches the decomposed one in the context" \
    "$?:$(sed 's/"score":.*//' "$D/nukta.out" | sort -u | wc -l | tr -d ' ')" "0:1"
# whole grapheme clusters: no answer starts with a vowel sign, virama or nukta
# (the tail of the word before) or inside a conjunct, or ends inside a cluster
# or on a virama (a half letter), nor starts or ends with white space (no-break
# and thin spaces too), whatever span the model picks (the shipped model, on
# words full of vowel signs and conjuncts; the rule itself: test_tasks.c)
Q=assets/models/bhasha-qa-hi
if [ -f "$Q/config.json" ] && /usr/bin/python3 -c 'import json' 2>/dev/null; then
    for q in "किसने बनवाया था?" "इसे कब बनवाया गया?" "यह किस नदी के किनारे है?" "कौन सी इमारत मशहूर है?" \
        "किसकी याद में बनी?" "कितने मज़दूरों ने काम किया?" "क्या देखने आते हैं?" "पत्थर कहाँ से आया?"; do
        printf '{"context":"ताजमहल आगरा शहर में यमुना नदी के किनारे स्थित है। इसे शाहजहाँ ने अपनी बेगम मुमताज़ की याद में बनवाया था। इसे बनाने में बीस हज़ार मज़दूरों ने बाईस साल तक काम किया। दुनिया भर से लोग इसकी ख़ूबसूरती देखने आते हैं। संगमरमर मकराना से लाया गया।","question":"%s"}\n' "$q"
    done > "$D/tj.jsonl"
    printf '{"context":"ताजमहल आगरा शहर में यमुना नदी के किनारे स्थित है। इसे शाहजहाँ ने बनवाया था।","question":"ताजमहल किसने बनवाया था?"}\n' >> "$D/tj.jsonl"
    for q in "स्वतंत्रता कब मिली?" "किसने राष्ट्र को संबोधित किया?" "छात्रों ने क्या प्राप्त किए?"; do
        printf '{"context":"स्वतंत्रता संग्राम में महात्मा गांधी ने अहिंसा का मार्ग अपनाया। भारत को पंद्रह अगस्त उन्नीस सौ सैंतालीस को स्वतंत्रता मिली। प्रधानमंत्री जवाहरलाल नेहरू ने राष्ट्र को संबोधित किया। छात्रों ने विज्ञान की परीक्षा में श्रेष्ठ अंक प्राप्त किए।","question":"%s"}\n' "$q"
    done >> "$D/tj.jsonl"
    # words joined by no-break and thin spaces (the model's span began with one)
    printf '{"context":"ताजमहल आगरा\\u00a0शहर\\u00a0में यमुना\\u2009नदी\\u00a0के किनारे स्थित है। इसे\\u00a0शाहजहाँ\\u00a0ने बनवाया था।","question":"ताजमहल किसने बनवाया था?"}\n' >> "$D/tj.jsonl"
    $BH qa --model "$Q" "$D/tj.jsonl" > "$D/tj.out" 2> /dev/null
    is "qa: answers are whole grapheme clusters" "$(/usr/bin/python3 -c '
import json, sys, unicodedata
mark = lambda c: unicodedata.category(c) in ("Mn", "Mc", "Me")
virama = lambda c: unicodedata.combining(c) == 9
bad = 0
for i, o in zip(open(sys.argv[1]), open(sys.argv[2])):
    c, o = json.loads(i)["context"], json.loads(o)
    s, e = o["start"], o["end"]
    bad += not o["answer"] or mark(c[s]) or (e < len(c) and mark(c[e])) or virama(c[e - 1]) or (s > 0 and virama(c[s - 1]))
    bad += c[s].isspace() or c[e - 1].isspace()
print(bad)' "$D/tj.jsonl" "$D/tj.out")" "0"
else
    skip "qa: answers are whole grapheme clusters" "no shipped QA model or no /usr/bin/python3"
fi
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/dev.json" --dev "$D/dev.json" --epochs 1 \
    --sentence --echo-penalty 2.5 --type-penalty 4 --out "$D/ms" > /dev/null 2>&1
ok "finetune qa --sentence: saved in finetune.json" grep -q '"sentence": true' "$D/ms/finetune.json"
ok "finetune qa --echo-penalty, --type-penalty: saved in finetune.json" \
    sh -c "grep -q '\"echo_penalty\": 2.5' '$D/ms/finetune.json' && grep -q '\"type_penalty\": 4' '$D/ms/finetune.json'"
$BH qa --model "$D/ms" --echo-penalty -1 < /dev/null > /dev/null 2> "$D/e"
is "qa --echo-penalty -1: usage error" "$?:$(grep -c -- '--echo-penalty -1' "$D/e")" "2:1"
$BH qa --model "$D/ms" --type-penalty 3x < /dev/null > /dev/null 2> "$D/e"
is "qa --type-penalty 3x: usage error" "$?:$(grep -c -- '--type-penalty 3x' "$D/e")" "2:1"
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/dev.json" --dev "$D/dev.json" \
    --echo-penalty 2000 --out "$D/x" > /dev/null 2> "$D/e"
is "finetune qa --echo-penalty 2000: usage error" "$?:$(grep -c -- '--echo-penalty 2000' "$D/e")" "2:1"

# answer priors (the shipped model, whose finetune.json turns them on): an
# answer is never made only of the question's words; the answer to "how
# many" starts with a number, to "when" with a number or a month; with the
# priors off the same model answers two of these with the question's words
if [ -f "$Q/config.json" ] && /usr/bin/python3 -c 'import json' 2>/dev/null; then
    C1="टाइगर्स ने खेल के अंतिम तीन मिनट में 11 अंक बनाकर फाइनल में लायंस को 23–16 से हराया।"
    C2="सूरजपुर संग्रहालय की स्थापना 1887 में राजा मानसिंह ने की थी और 1952 में इसे फिर से खोला गया।"
    C3="एनर्जीलैब AB इंजन में पाँच सिलेंडर होते हैं और यह प्रति घंटे 8.8 पाउंड भाप का उपयोग करता है।"
    C4="कहा जाता है कि मीरा ने छह बार राष्ट्रीय पुरस्कार जीता और वह अकादमी की सदस्य भी रहीं।"
    C5="डेल्टा कंपनी ने घोषणा की कि वह अपना सूरत संयंत्र अक्टूबर 2016 में बंद कर देगी।"
    for cq in "$C1|अंतिम तीन मिनट में टाइगर्स ने कितने अंक बनाए?" "$C2|सूरजपुर संग्रहालय को फिर से कब खोला गया?" \
        "$C2|सूरजपुर संग्रहालय की स्थापना किसने की?" "$C3|एनर्जीलैब AB इंजन में कितने सिलेंडर होते हैं?" \
        "$C3|एनर्जीलैब AB इंजन प्रति घंटे कितने पाउंड भाप का उपयोग करता है?" \
        "$C4|मीरा ने कितने राष्ट्रीय पुरस्कार जीते?" "$C5|डेल्टा कंपनी का सूरत संयंत्र कब बंद होगा?" \
        "$C5|डेल्टा कंपनी ने किस वर्ष संयंत्र बंद करने की घोषणा की?"; do
        printf '{"context":"%s","question":"%s"}\n' "${cq%%|*}" "${cq#*|}"
    done > "$D/pri.jsonl"
    $BH qa --model "$Q" "$D/pri.jsonl" > "$D/pri.out" 2> /dev/null
    is "qa priors: one answer per question" "$?:$(grep -c '"answer":"[^"]' "$D/pri.out")" "0:8"
    is "qa priors: no answer only repeats the question, typed questions get their type" "$(/usr/bin/python3 -c '
import json, sys, unicodedata
nums = {"पाँच", "छह"}; months = {"अक्टूबर"}
bad = 0
for i, o in zip(open(sys.argv[1]), open(sys.argv[2])):
    q, a = json.loads(i)["question"], json.loads(o)["answer"]
    strip = lambda w: "".join(c for c in w if unicodedata.category(c)[0] in "LMN")
    qw = {strip(w) for w in q.split()}
    words = [strip(w) for w in a.split() if strip(w)]
    bad += all(w in qw for w in words)
    first = words[0] if words else ""
    isnum = first in nums or any(c.isdigit() for c in first)
    if "कितने" in q: bad += not isnum
    if "कब" in q or "किस वर्ष" in q: bad += not (isnum or first in months)
print(bad)' "$D/pri.jsonl" "$D/pri.out")" "0"
    $BH qa --model "$Q" --echo-penalty 0 --type-penalty 0 "$D/pri.jsonl" > "$D/pri0.out" 2> /dev/null
    is "qa priors: off, two answers repeat the question" "$(sed 's/"score":.*//' "$D/pri0.out" |
        grep -c -e '"answer":"सूरजपुर संग्रहालय"' -e '"answer":"मीरा"')" "2"
else
    skip "qa priors on the shipped model" "no shipped QA model or no /usr/bin/python3"
fi
$BH qa --model "$D/nothing" < /dev/null > /dev/null 2> "$D/e"
is "qa: a missing model fails with one line" "$?:$(wc -l < "$D/e" | tr -d ' ')" "1:1"
# a model whose max_len leaves no room for [CLS] question [SEP] context [SEP]
# is refused at load (at 3, without finetune.json, the window loop never
# ended and ate memory): $D/m cut to max_len 3, its position table too
mkdir "$D/m3"
cp "$D/m/tokenizer.model" "$D/m3/"
sed 's/"max_len": *32/"max_len": 3/' "$D/m/config.json" > "$D/m3/config.json"
LC_ALL=C sed '1s/"wpe":{"dtype":"F32","shape":\[32,16\],"data_offsets":\[1024000,1026048\]}/"wpe":{"dtype":"F32","shape":[3, 16],"data_offsets":[1024000,1024192]}/' \
    "$D/m/model.safetensors" > "$D/m3/model.safetensors"
if grep -q '"max_len": 3' "$D/m3/config.json" && ! cmp -s "$D/m/model.safetensors" "$D/m3/model.safetensors"; then
    # the address-space cap keeps a regression from eating the machine; not
    # under AddressSanitizer, whose shadow memory alone is far above it
    ([ "${BUILD:-build}" = build-asan ] || ulimit -v 4000000 2> /dev/null
     head -1 "$D/in.jsonl" | timeout 120 $BH qa --model "$D/m3" > /dev/null 2> "$D/e")
    is "qa: a model with max_len 3 is refused with one line" "$?:$(grep -c 'max_len 3' "$D/e")" "1:1"
else
    skip "qa: a model with max_len 3 is refused" "the tiny model's layout changed"
fi
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/dev.json" --dev "$D/nope.json" --out "$D/x" \
    > /dev/null 2> "$D/e"
is "finetune qa: a missing dev file fails with one line" "$?:$(wc -l < "$D/e" | tr -d ' ')" "1:1"
printf '{"context":"अ ब स","question":"क","answers":[{"text":"ब","answer_start":0}]}\n' > "$D/bad.jsonl"
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/bad.jsonl" --dev "$D/dev.json" --out "$D/x" \
    > /dev/null 2> "$D/e"
ok "finetune qa: a misplaced answer names the file and line" grep -q 'bad.jsonl line 1: answer "ब" is not at code point 0' "$D/e"

# --- windows: a stride longer than a window shares half a window, not all
# but one piece (which made one window per piece)
ctx="$long"
start=$(printf '%s' "${ctx%%पटना*}" | wc -m | tr -d ' ')
printf '{"id":"w","context":"%s","question":"अमित कल शाम कहाँ गया ?","answers":[{"text":"पटना","answer_start":%s}]}\n' \
    "$ctx" "$start" > "$D/long.jsonl"
wins() { # STRIDE: the windows of the long context at --max-len 32
    $BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/long.jsonl" --dev "$D/dev.json" --out "$D/w$1" \
        --epochs 1 --batch 4 --max-len 32 --stride "$1" --log-every 1000 2> /dev/null | sed -n 's/.*"windows":\([0-9]*\).*/\1/p'
}
w0=$(wins 0)
w9=$(wins 65536)
ok "qa windows: a stride past the window gives at most twice the windows of stride 0 ($w0, $w9)" \
    test -n "$w0" -a -n "$w9" -a "$w0" -gt 1 -a "$w9" -le $((2 * w0))

# --- cloze questions from raw text
{
    echo "राम ने 1857 में किताब लिखी. उस किताब का नाम नीलकमल था. लोग कहते हैं कि राम ने नीलकमल 1857 में पूरी की. बाद में वह दिल्ली चला गया."
    echo "सीता बाज़ार गई। वहाँ उसने आम खरीदे। आम बहुत मीठे थे। सीता ने आम घर में बाँटे।"
    echo "छोटी पंक्ति."
    echo "गंगा नदी हिमालय से निकलती है। गंगा नदी का पानी पवित्र माना जाता है। हिमालय बहुत ऊँचा है।"
} > "$D/raw.txt"
$BH corpus cloze --seed 7 --stopwords 3 --per-paragraph 2 --out "$D/c1.jsonl" "$D/raw.txt" 2> "$D/c.err"
is "cloze exits 0" "$?" "0"
$BH corpus cloze --seed 7 --stopwords 3 --per-paragraph 2 "$D/raw.txt" > "$D/c2.jsonl" 2> /dev/null
ok "cloze is deterministic for a seed" cmp "$D/c1.jsonl" "$D/c2.jsonl"
ok "cloze made questions" test "$(wc -l < "$D/c1.jsonl")" -ge 3
ok "cloze: counts on stderr" grep -q '"questions":' "$D/c.err"
ok "cloze: questions carry the blank" grep -q '"question":"[^"]*_____' "$D/c1.jsonl"
ok "cloze: short paragraphs make none" sh -c "! grep -q ':3:' '$D/c1.jsonl'"
if [ $HAVE_JQ = 1 ]; then
    is "cloze: every answer is at its offset, outside the question's sentence" \
        "$(jq -r '(.answers[0]) as $a | (.context[$a.answer_start:($a.answer_start + ($a.text | length))] == $a.text) and (.question | contains("_____"))' "$D/c1.jsonl" | sort -u)" "true"
else
    skip "cloze: answers at their offsets" "no jq"
fi
# the stopwords are exactly the N most frequent words: here every word occurs
# twice, and the 3 first by their bytes are the stopwords, not all of them
printf 'क ख ग घ। ङ च छ ज। क ख ग घ। ङ च छ ज।\n' > "$D/tie.txt"
$BH corpus cloze --seed 1 --stopwords 3 --per-paragraph 4 "$D/tie.txt" > "$D/tie.jsonl" 2> /dev/null
ok "cloze: words tied with the last stopword are not stopwords" test "$(wc -l < "$D/tie.jsonl")" -ge 1
$BH finetune --task qa --base "$D/enc.json" --tokenizer $TOK --train "$D/c1.jsonl" --dev "$D/dev.json" --out "$D/mc" \
    --epochs 1 --batch 4 --max-len 32 --log-every 1000 > /dev/null 2>&1
is "cloze output trains directly" "$?" "0"

# --- paragraph-disjoint split
$BH corpus squad-split --dev "$D/h1.json" --test "$D/h2.json" "$D/dev.json" > "$D/split.out"
is "squad-split exits 0" "$?" "0"
ok "squad-split: counts add up" grep -q '"dev_questions":[0-9]*,"test_paragraphs":[0-9]*,"test_questions"' "$D/split.out"
if [ $HAVE_JQ = 1 ]; then
    a=$(jq '[.data[].paragraphs[]] | length' "$D/h1.json")
    b=$(jq '[.data[].paragraphs[]] | length' "$D/h2.json")
    both=$(jq -s '[.[0].data[].paragraphs[].context] - ([.[0].data[].paragraphs[].context] - [.[1].data[].paragraphs[].context]) | length' "$D/h1.json" "$D/h2.json")
    is "squad-split: every paragraph in exactly one half" "$((a + b)):$both" "$(jq '[.data[].paragraphs[]] | length' "$D/dev.json"):0"
else
    skip "squad-split: halves" "no jq"
fi
done_testing
