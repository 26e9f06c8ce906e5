/* fuzz_text: the text layer on arbitrary bytes — normalization (canonical and
 * repair only), every segmentation unit, transliteration between scripts,
 * language identification, SentencePiece and WordPiece encoding with the
 * shipped vocabularies. None of these may fail on the content of the text. */
#include "fuzz.h"

static bh_segmenter *seg;
static bh_translit *tl[4];
static bh_langid *lid;
static bh_spm *spm;
static bh_wordpiece *wp;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const bh_script pairs[4][2] = {
        {BH_SCRIPT_AUTO, BH_SCRIPT_LATN}, {BH_SCRIPT_LATN, BH_SCRIPT_DEVA},
        {BH_SCRIPT_DEVA, BH_SCRIPT_BENG}, {BH_SCRIPT_AUTO, BH_SCRIPT_TAML}};
    if (bh_segmenter_new(&seg)) fuzz_die("segmenter");
    for (int i = 0; i < 4; i++) {
        bh_translit_options o;
        bh_translit_options_default(&o);
        o.from = pairs[i][0];
        o.to = pairs[i][1];
        o.ascii_digits = i & 1;
        if (bh_translit_new(&o, &tl[i])) fuzz_die("translit");
    }
    if (bh_langid_load(fuzz_asset("assets/langid/langid.bin"), &lid)) fuzz_die("langid");
    if (bh_spm_load(fuzz_asset("assets/spm/bnhi.model"), &spm)) fuzz_die("spm");
    static const char vocab[] = "[UNK]\n[CLS]\nক\n##া\nকা\nহ\n##ি\nন\n##্দ\nদ\na\n##b\n,\n";
    bh_wordpiece_options wo;
    bh_wordpiece_options_default(&wo);
    wo.lower_case = 1;
    wo.strip_accents = -1;
    if (bh_wordpiece_load_bytes(vocab, sizeof vocab - 1, &wo, &wp)) fuzz_die("wordpiece");
    return 0;
}

static void must(bh_status st, const char *what)
{
    if (st != BH_OK) fuzz_die(what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *t = (const char *)data;
    bh_buf out = {0};
    bh_norm_options no;
    bh_norm_options_default(&no);
    must(bh_normalize(t, n, &no, &out, NULL), "normalize");
    bh_buf norm = out; /* keep the normalized text for the encoders below */
    out = (bh_buf){0};
    no.canonical = 0;
    must(bh_normalize(t, n, &no, &out, NULL), "normalize (repair)");

    bh_spans sp = {0}, words = {0};
    for (int u = BH_SEG_SENTENCE; u <= BH_SEG_GRAPHEME; u++) {
        must(bh_segment(seg, (bh_seg_unit)u, t, n, &sp), "segment");
        for (size_t i = 0; i < sp.n; i++)
            if (sp.v[i].start > sp.v[i].end || sp.v[i].end > n) fuzz_die("span out of the text");
    }
    must(bh_segment_sentences_words(seg, t, n, &sp, &words), "sentences+words");

    for (int i = 0; i < 4; i++) {
        bh_buf_clear(&out);
        must(bh_translit_run(tl[i], t, n, &out, NULL), "translit");
    }
    bh_langid_result res;
    must(bh_langid_identify(lid, t, n, &res), "langid");

    bh_tokens tok = {0};
    must(bh_spm_encode(spm, norm.data ? norm.data : "", norm.len, &tok), "spm encode");
    bh_buf_clear(&out);
    must(bh_spm_decode(spm, tok.ids, tok.n, &out), "spm decode");
    bh_status st = bh_wordpiece_encode(wp, t, n, &tok);
    if (st != BH_OK && st != BH_EUTF8) fuzz_die("wordpiece");

    bh_tokens_free(&tok);
    bh_spans_free(&sp);
    bh_spans_free(&words);
    bh_buf_free(&out);
    bh_buf_free(&norm);
    return 0;
}
