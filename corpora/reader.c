/* corpora/reader.c — the streaming record reader: dispatch, problem reporting,
 * and the line-based formats (text, JSON lines, CSV/TSV, CoNLL, CoNLL-U) plus
 * SQuAD JSON. MediaWiki XML lives in wiki.c. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/error.h"
#include "corpora/reader_impl.h"

int bh__corpus_problem(bh_corpus *r, bh_status code, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[1024];
    if (line > 0)
        snprintf(full, sizeof full, "%s:%ld: %s", r->src.path, line, msg);
    else
        snprintf(full, sizeof full, "%s: %s", r->src.path, msg);
    if (r->o.on_error == BH_ON_ERROR_SKIP) {
        if (r->skipped < BH__MAX_PROBLEMS) r->problems[r->skipped] = strdup(full);
        r->skipped++;
        return 0;
    }
    r->done = 1;
    r->stop_err = code;
    return bh__fail(code, "%s", full);
}

/* ---- small helpers ---------------------------------------------------- */

static bh_status push_off(bh_corpus *r, size_t off)
{
    if (r->n_offs == r->offs_cap) {
        size_t cap = r->offs_cap ? r->offs_cap * 2 : 64;
        size_t *p = realloc(r->offs, cap * sizeof *p);
        if (!p) return bh__fail(BH_ENOMEM, "token table");
        r->offs = p;
        r->offs_cap = cap;
    }
    r->offs[r->n_offs++] = off;
    return BH_OK;
}

/* Appends s[0..n) + NUL to the arena and records its offset. */
static bh_status arena_add(bh_corpus *r, const char *s, size_t n)
{
    size_t off = r->arena.len;
    bh_status st = bh_buf_append(&r->arena, s, n);
    if (!st) st = bh_buf_append(&r->arena, "", 1);
    return st ? st : push_off(r, off);
}

/* Makes room for n token/tag pointers. Never leaves r->ptrs NULL, so that a record
 * without tokens still gets valid (empty) arrays and `r->ptrs + n` is defined. */
static bh_status ensure_ptrs(bh_corpus *r, size_t n)
{
    if (n <= r->ptrs_cap && r->ptrs) return BH_OK;
    size_t cap = n ? n : 1;
    const char **p = realloc(r->ptrs, cap * sizeof *p);
    if (!p) return bh__fail(BH_ENOMEM, "token pointers");
    r->ptrs = p;
    r->ptrs_cap = cap;
    return BH_OK;
}

/* Turns the recorded offsets into pointers (after the arena stopped growing). */
static bh_status offs_to_ptrs(bh_corpus *r, const bh_buf *base, const size_t *offs, size_t n)
{
    bh_status st = ensure_ptrs(r, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) r->ptrs[i] = base->data + offs[i];
    return BH_OK;
}

static bh_status set_str(bh_buf *b, const char *s, size_t n)
{
    bh_buf_clear(b);
    bh_status st = bh_buf_append(b, s, n);
    if (!st && !b->data) st = bh_buf_append(b, "", 0);
    return st;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static void reset_record(bh_corpus *r, bh_corpus_record *rec)
{
    memset(rec, 0, sizeof *rec);
    bh_buf_clear(&r->text);
    bh_buf_clear(&r->label);
    bh_buf_clear(&r->id);
    bh_buf_clear(&r->title);
    bh_buf_clear(&r->arena);
    r->n_offs = 0;
}

/* Reads a line (or hands out again the one read ahead, see `unread`); on failure
 * marks the reader done (input-level errors always stop). */
static int get_line(bh_corpus *r)
{
    if (r->unread) {
        r->unread = 0;
        return 1;
    }
    int k = bh__src_line(&r->src, &r->line);
    if (k < 0) {
        r->done = 1;
        r->stop_err = k;
    }
    return k;
}

/* A record spanning lines (text block, CSV record with a quoted field over several
 * lines, CoNLL/CoNLL-U sentence) grew past the size limit that bounds memory. Finding
 * the next record would mean reading on without a bound, so this always stops, like
 * a line over the limit does. */
static int record_too_long(bh_corpus *r, long line, const char *what, const char *hint)
{
    r->done = 1;
    r->stop_err = BH_ELIMIT;
    return bh__fail(BH_ELIMIT, "%s:%ld: %s longer than %zu bytes%s", r->src.path, line, what, r->src.max_line, hint);
}

/* Converts n tags into r->conv (offsets r->conv_offs) when a scheme or label map is set.
 * Returns 1 when converted, -1000 for a malformed tag (*err_tag, *err_idx say which),
 * or a negative status. */
static int convert_tags(bh_corpus *r, const char *const *tags, size_t n, const char **err_tag, size_t *err_idx)
{
    if (n > r->conv_cap) {
        size_t *p = realloc(r->conv_offs, n * sizeof *p);
        if (!p) return bh__fail(BH_ENOMEM, "tag table");
        r->conv_offs = p;
        r->conv_cap = n;
    }
    bh_status st = bh_tags_convert(tags, n, r->o.scheme, r->o.label_map, &r->conv, r->conv_offs);
    if (st == BH_OK) return 1;
    if (st != BH_EFORMAT) return st;
    /* find which tag failed: the detail names "tag N" */
    const char *d = bh_last_error();
    const char *p = strstr(d, "tag ");
    size_t idx = p ? strtoul(p + 4, NULL, 10) : 0;
    if (idx >= n) idx = 0;
    *err_tag = tags[idx];
    *err_idx = idx;
    return -1000;
}

/* ---- plain text ------------------------------------------------------- */

static int next_text(bh_corpus *r, bh_corpus_record *rec)
{
    int k;
    bh_status st;
    bh_buf_clear(&r->text);
    if (!r->o.blocks) {
        while ((k = get_line(r)) == 1) {
            if (r->line.len == 0) continue;
            if ((st = set_str(&r->text, r->line.data, r->line.len))) return st;
            rec->line = r->src.lineno;
            return 1;
        }
        return k;
    }
    long first = 0;
    while ((k = get_line(r)) == 1) {
        if (is_blank(r->line.data, r->line.len)) {
            if (first) break;
            continue;
        }
        if (!first) first = r->src.lineno;
        else if ((st = bh_buf_append(&r->text, "\n", 1))) return st;
        if (r->text.len + r->line.len > r->src.max_line) return record_too_long(r, first, "document", "");
        if ((st = bh_buf_append(&r->text, r->line.data, r->line.len))) return st;
    }
    if (k < 0) return k;
    if (!first) return 0;
    rec->line = first;
    return 1;
}

/* ---- tokenisation for JSONL NER records: whitespace, and punctuation split off ---- */

static int is_punct_cp(int32_t cp)
{
    if (cp == 0x200C || cp == 0x200D) return 0;
    utf8proc_category_t c = utf8proc_category(cp);
    switch (c) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO:
        return 1;
    default:
        return 0;
    }
}

static int is_space_cp(int32_t cp)
{
    if (cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200A) ||
        (cp >= 0x1C && cp <= 0x1F))
        return 1;
    return 0;
}

/* Splits s into tokens (arena) the way spaCy-style NER data is tokenised:
 * punctuation split off, except a '.' closing a word of at most 2 letters
 * (abbreviations such as "মো."); a run of k > 1 spaces yields one whitespace
 * token of k-1 spaces. Returns the number of tokens or a negative status. */
static long tokenize_punct(bh_corpus *r, const char *s, size_t n)
{
    size_t i = 0, start = 0;
    int in_tok = 0;
    long count = 0, tok_cps = 0;
    while (i < n) {
        int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            cp = 0xFFFD;
            k = 1;
        }
        if (cp == '.' && in_tok && tok_cps <= 2 && (i + 1 >= n || s[i + 1] == ' ')) {
            i += (size_t)k;
            if (arena_add(r, s + start, i - start)) return BH_ENOMEM;
            count++;
            in_tok = 0;
            continue;
        }
        if (is_space_cp(cp) || is_punct_cp(cp)) {
            if (in_tok) {
                if (arena_add(r, s + start, i - start)) return BH_ENOMEM;
                count++;
                in_tok = 0;
            }
            if (is_punct_cp(cp)) {
                if (arena_add(r, s + i, (size_t)k)) return BH_ENOMEM;
                count++;
            } else if (cp == ' ' && i > 0 && i + 1 < n && s[i + 1] == ' ' && s[i - 1] != ' ') {
                size_t e = i + 1;
                while (e < n && s[e] == ' ') e++;
                if (e < n && arena_add(r, s + i + 1, e - i - 1)) return BH_ENOMEM;
                if (e < n) count++;
                i = e;
                continue;
            }
        } else if (!in_tok) {
            in_tok = 1;
            start = i;
            tok_cps = 0;
        }
        if (in_tok) tok_cps++;
        i += (size_t)k;
    }
    if (in_tok) {
        if (arena_add(r, s + start, n - start)) return BH_ENOMEM;
        count++;
    }
    return count;
}

/* ---- JSON lines --------------------------------------------------------- */

static json_t *json_pick(json_t *v, const char *field)
{
    if (!field) return NULL;
    if (json_is_object(v)) return json_object_get(v, field);
    if (json_is_array(v)) {
        char *end;
        long i = strtol(field, &end, 10);
        if (*end || i < 0) return NULL;
        return json_array_get(v, (size_t)i);
    }
    return NULL;
}

/* The shortest "%g" text that reads back as d, with ".0" when it looks like an
 * integer (as Python's repr writes it): "%.17g" alone turns a label 2.3 into
 * "2.2999999999999998" and 1.0 into "1", which no longer match the file. */
static void real_text(double d, char *tmp, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, n, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) break;
    }
    if (strspn(tmp, "-0123456789") == strlen(tmp)) strncat(tmp, ".0", n - strlen(tmp) - 1);
}

/* A JSON scalar as text: strings as they are, numbers/bools printed. */
static int json_scalar(json_t *v, bh_buf *out)
{
    char tmp[64];
    bh_buf_clear(out);
    if (json_is_string(v)) return bh_buf_append(out, json_string_value(v), json_string_length(v)) ? -1 : 1;
    if (json_is_integer(v)) snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) real_text(json_real_value(v), tmp, sizeof tmp);
    else if (json_is_true(v)) snprintf(tmp, sizeof tmp, "true");
    else if (json_is_false(v)) snprintf(tmp, sizeof tmp, "false");
    else return 0;
    return bh_buf_append(out, tmp, strlen(tmp)) ? -1 : 1;
}

static int next_jsonl(bh_corpus *r, bh_corpus_record *rec)
{
    int k, e;
    bh_status st;
    while ((k = get_line(r)) == 1) {
        if (is_blank(r->line.data, r->line.len)) continue;
        long ln = r->src.lineno;
        reset_record(r, rec);
        json_error_t je;
        json_t *v = json_loadb(r->line.data, r->line.len, 0, &je);
        if (!v) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, ln, "invalid JSON at column %d: %s", je.column, je.text)))
                return e;
            continue;
        }
        const char *tf = r->o.text_field ? r->o.text_field : (json_is_array(v) ? "0" : "text");
        json_t *t = json_pick(v, tf);
        int ok = t ? json_scalar(t, &r->text) : 0;
        if (ok <= 0) {
            json_decref(v);
            if (ok < 0) return BH_ENOMEM;
            if ((e = bh__corpus_problem(r, BH_ENOTFOUND, ln, "no text field \"%s\"", tf))) return e;
            continue;
        }
        if (!r->text.data && (st = bh_buf_append(&r->text, "", 0))) {
            json_decref(v);
            return st;
        }
        if (r->o.label_field) {
            json_t *l = json_pick(v, r->o.label_field);
            ok = l ? json_scalar(l, &r->label) : 0;
            if (ok <= 0) {
                json_decref(v);
                if (ok < 0) return BH_ENOMEM;
                if ((e = bh__corpus_problem(r, BH_ENOTFOUND, ln, "no label field \"%s\"", r->o.label_field)))
                    return e;
                continue;
            }
            if (!r->label.data && (st = bh_buf_append(&r->label, "", 0))) {
                json_decref(v);
                return st;
            }
            rec->label = r->label.data;
        }
        if (r->o.id_field) {
            json_t *l = json_pick(v, r->o.id_field);
            if (l && json_scalar(l, &r->id) > 0 && r->id.data) rec->id = r->id.data;
        }
        if (r->o.tags_field) {
            json_t *tg = json_pick(v, r->o.tags_field);
            if (!json_is_array(tg)) {
                json_decref(v);
                if ((e = bh__corpus_problem(r, BH_ENOTFOUND, ln, "no tag array \"%s\"", r->o.tags_field))) return e;
                continue;
            }
            long nt = tokenize_punct(r, r->text.data, r->text.len);
            if (nt < 0) {
                json_decref(v);
                return (int)nt;
            }
            size_t ntags = json_array_size(tg);
            if ((size_t)nt != ntags) {
                json_decref(v);
                if ((e = bh__corpus_problem(r, BH_EFORMAT, ln, "%ld tokens after re-tokenising but %zu tags", nt,
                                            ntags)))
                    return e;
                continue;
            }
            int bad = 0;
            for (size_t i = 0; i < ntags; i++) {
                json_t *el = json_array_get(tg, i);
                if (!json_is_string(el)) {
                    bad = 1;
                    break;
                }
                if ((st = arena_add(r, json_string_value(el), json_string_length(el)))) {
                    json_decref(v);
                    return st;
                }
            }
            json_decref(v);
            if (bad) {
                if ((e = bh__corpus_problem(r, BH_EFORMAT, ln, "tag array holds a non-string"))) return e;
                continue;
            }
            size_t n = (size_t)nt;
            if ((st = offs_to_ptrs(r, &r->arena, r->offs, 2 * n))) return st;
            rec->tokens = r->ptrs;
            rec->tags = r->ptrs + n;
            rec->n_tokens = n;
            if (r->o.scheme != BH_TAGS_ASIS || r->o.label_map) {
                const char *et = NULL;
                size_t ei = 0;
                int c = convert_tags(r, r->ptrs + n, n, &et, &ei);
                if (c == -1000) {
                    if ((e = bh__corpus_problem(r, BH_EFORMAT, ln, "malformed tag \"%s\" (token %zu)", et, ei + 1)))
                        return e;
                    continue;
                }
                if (c < 0) return c;
                for (size_t i = 0; i < n; i++) r->ptrs[n + i] = r->conv.data + r->conv_offs[i];
            }
        } else {
            json_decref(v);
        }
        rec->line = ln;
        return 1;
    }
    return k;
}

/* ---- CSV / TSV (RFC 4180) ----------------------------------------------- */

/* Parses one record (possibly several physical lines) into arena fields.
 * Returns the number of fields (>0), 0 at end, -1000 for a record problem (*why says
 * which), or a negative status (the reader has then stopped). A bad record is still
 * read to its end, so that the next call starts at the next record and not inside
 * a quoted field of this one. */
static long csv_record(bh_corpus *r, const char **why, long *start_line)
{
    char d = r->o.delimiter;
    int k;
    do {
        k = get_line(r);
        if (k <= 0) return k;
    } while (r->line.len == 0);
    *start_line = r->src.lineno;
    bh_buf_clear(&r->arena);
    r->n_offs = 0;
    bh_buf field = {0};
    bh_status st = BH_OK;
    size_t rec_bytes = 0;
    int quoted = 0, in_q = 0, after_q = 0;
    *why = NULL;
    for (;;) {
        const char *s = r->line.data;
        size_t n = r->line.len;
        rec_bytes += n;
        if (rec_bytes > r->src.max_line) {
            bh_buf_free(&field);
            return record_too_long(r, *start_line, "record", " (a quoted field left open?)");
        }
        if (!*why && memchr(s, 0, n)) *why = "NUL byte in record";
        for (size_t i = 0; i <= n && !st; i++) {
            char c = i < n ? s[i] : '\n';
            if (in_q && c != '"' && i < n) { /* copy the run up to the next quote in one go */
                const char *qq = memchr(s + i, '"', n - i);
                size_t run = qq ? (size_t)(qq - (s + i)) : n - i;
                st = bh_buf_append(&field, s + i, run);
                i += run - 1;
                continue;
            }
            if (!in_q && c != d && c != '"' && c != '\n' && !after_q) { /* plain run up to the delimiter */
                size_t j = i;
                while (j < n && s[j] != d && s[j] != '"') j++;
                st = bh_buf_append(&field, s + i, j - i);
                i = j - 1;
                continue;
            }
            if (in_q) {
                if (c == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        st = bh_buf_append(&field, "\"", 1);
                        i++;
                    } else {
                        in_q = 0;
                        after_q = 1;
                    }
                } else {
                    st = bh_buf_append(&field, &c, 1);
                }
                continue;
            }
            if (c == d || c == '\n') {
                st = arena_add(r, field.data ? field.data : "", field.len);
                bh_buf_clear(&field);
                quoted = after_q = 0;
                if (c == '\n') break;
                continue;
            }
            if (after_q) {
                /* the rest of the field is taken as it is (quotes included), so the
                 * record ends at the end of this line unless a later field opens a quote */
                if (!*why) *why = "text after a closing quote";
                st = bh_buf_append(&field, &c, 1);
                continue;
            }
            if (c == '"' && field.len == 0 && !quoted && !r->o.no_quotes) {
                quoted = in_q = 1;
                continue;
            }
            st = bh_buf_append(&field, &c, 1);
        }
        if (st || !in_q) break;
        /* the quoted field goes on at the next physical line */
        k = get_line(r);
        if (k < 0) {
            bh_buf_free(&field);
            return k;
        }
        if (k == 0) {
            if (!*why) *why = "unclosed quote at end of file";
            break;
        }
        rec_bytes++; /* the line break, kept in the field */
    }
    bh_buf_free(&field);
    if (st) return st;
    return *why ? -1000 : (long)r->n_offs;
}

static int csv_column(bh_corpus *r, const char *want, int required, const char *what)
{
    if (!want) return required ? bh__fail(BH_EINVAL, "no %s column given", what) : -1;
    char *end;
    long idx = strtol(want, &end, 10);
    if (!r->o.no_header) {
        int found = -1;
        for (size_t i = 0; i < r->n_offs; i++) {
            if (strcmp(r->arena.data + r->offs[i], want) != 0) continue;
            /* taking the first of two columns of that name would be a silent guess
             * (Python's DictReader takes the last one) */
            if (found >= 0)
                return bh__fail(BH_EINVAL, "%s: %s column \"%s\" is in the header twice (columns %d and %zu): "
                                "give its index", r->src.path, what, want, found, i);
            found = (int)i;
        }
        if (found >= 0) return found;
    }
    if (*want && !*end && idx >= 0 && idx < r->ncols) return (int)idx;
    return bh__fail(BH_ENOTFOUND, "%s: no %s column \"%s\"", r->src.path, what, want);
}

static bh_status csv_header(bh_corpus *r)
{
    const char *why;
    long line;
    long nf = csv_record(r, &why, &line);
    /* without a header the first row is a record like any other: a bad one is a
     * record problem (skipped in skip mode), not a reason to refuse the file */
    while (nf == -1000 && r->o.no_header) {
        int e = bh__corpus_problem(r, BH_EFORMAT, line, "%s", why);
        if (e) return e;
        nf = csv_record(r, &why, &line);
    }
    if (nf == -1000) return bh__fail(BH_EFORMAT, "%s:%ld: header: %s", r->src.path, line, why);
    if (nf < 0) return (bh_status)nf;
    if (nf == 0 && r->skipped) { /* every row was bad: nothing to read, the problems say why */
        r->done = 1;
        return BH_OK;
    }
    if (nf == 0) return bh__fail(BH_EFORMAT, "%s: empty file", r->src.path);
    r->ncols = (int)nf;
    int c = csv_column(r, r->o.text_field ? r->o.text_field : "text", 1, "text");
    if (c < 0) return c;
    r->col_text = c;
    r->col_text2 = r->col_label = r->col_id = -1;
    if (r->o.text_field2 && (c = csv_column(r, r->o.text_field2, 1, "second text")) < 0) return c;
    if (r->o.text_field2) r->col_text2 = c;
    if (r->o.label_field && (c = csv_column(r, r->o.label_field, 1, "label")) < 0) return c;
    if (r->o.label_field) r->col_label = c;
    if (r->o.id_field && (c = csv_column(r, r->o.id_field, 1, "id")) < 0) return c;
    if (r->o.id_field) r->col_id = c;
    if (r->o.no_header) {
        /* the first row was data: hand it out as the first record */
        r->rec_line = line;
        return 1;
    }
    return BH_OK;
}

static int csv_fill(bh_corpus *r, bh_corpus_record *rec, long line)
{
    const char *a = r->arena.data;
    const char *t = a + r->offs[r->col_text];
    bh_status st = set_str(&r->text, t, strlen(t));
    if (st) return st;
    if (r->col_text2 >= 0) {
        const char *t2 = a + r->offs[r->col_text2];
        if (*t2 && r->text.len && (st = bh_buf_append(&r->text, " ", 1))) return st;
        if ((st = bh_buf_append(&r->text, t2, strlen(t2)))) return st;
    }
    if (r->col_label >= 0) {
        const char *l = a + r->offs[r->col_label];
        if ((st = set_str(&r->label, l, strlen(l)))) return st;
        rec->label = r->label.data;
    }
    if (r->col_id >= 0) rec->id = a + r->offs[r->col_id];
    rec->line = line;
    return 1;
}

static int next_csv(bh_corpus *r, bh_corpus_record *rec)
{
    if (r->rec_line) { /* first data row read while looking for columns (no_header) */
        long line = r->rec_line;
        r->rec_line = 0;
        return csv_fill(r, rec, line);
    }
    for (;;) {
        const char *why;
        long line = 0;
        int e;
        long nf = csv_record(r, &why, &line);
        if (nf == -1000) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, line, "%s", why))) return e;
            continue;
        }
        if (nf <= 0) return (int)nf;
        if (nf != r->ncols) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, line, "%ld fields, the header has %d", nf, r->ncols))) return e;
            continue;
        }
        return csv_fill(r, rec, line);
    }
}

/* ---- CoNLL token/tag ------------------------------------------------------ */

/* Splits s[0..n) in place into columns: at every tab if the line has one, else at
 * runs of spaces. Stores the first maxc column starts in col[] and the last one in
 * *last, and returns how many columns there are, which may be more than maxc. */
static size_t split_cols(char *s, size_t n, char **col, size_t maxc, char **last)
{
    size_t nc = 0;
    char *p = s, *end = s + n;
    *last = s;
    if (memchr(s, '\t', n)) {
        for (;;) {
            if (nc < maxc) col[nc] = p;
            nc++;
            *last = p;
            char *t = memchr(p, '\t', (size_t)(end - p));
            if (!t) break;
            *t = 0;
            p = t + 1;
        }
        return nc;
    }
    while (p < end) {
        while (p < end && *p == ' ') p++;
        if (p == end) break;
        if (nc < maxc) col[nc] = p;
        nc++;
        *last = p;
        while (p < end && *p != ' ') p++;
        if (p < end) *p++ = 0;
    }
    return nc;
}

/* A metadata line before a sentence's tokens: MultiCoNER's "# id <uuid>
 * domain=bn" or a CoNLL-U style "# key = value". A token "#" has one tag
 * column ("#<TAB>O", "# _ _ O"), so neither shape is a token line. */
static int conll_comment(const char *s, size_t n)
{
    if (n < 4 || s[0] != '#' || s[1] != ' ') return 0;
    if (n > 5 && s[2] == 'i' && s[3] == 'd' && (s[4] == ' ' || s[4] == '\t')) return 1;
    size_t k = 2;
    while (k < n && s[k] != ' ' && s[k] != '\t' && s[k] != '=') k++;
    return k > 2 && k + 2 < n && s[k] == ' ' && s[k + 1] == '=' && s[k + 2] == ' ';
}

static int next_conll(bh_corpus *r, bh_corpus_record *rec)
{
    int k, e;
    bh_status st;
    for (;;) {
        reset_record(r, rec);
        long first = 0, bad_line = 0;
        size_t rec_bytes = 0;
        char bad[160] = "";
        while ((k = get_line(r)) == 1) {
            char *s = r->line.data;
            size_t n = r->line.len;
            if (is_blank(s, n)) {
                if (first) break;
                continue;
            }
            if (strncmp(s, "-DOCSTART-", 10) == 0) {
                if (first) break;
                continue;
            }
            if (!first && conll_comment(s, n)) continue;
            if (!first) first = r->src.lineno;
            rec_bytes += (rec_bytes ? 1 : 0) + n;
            if (rec_bytes > r->src.max_line) return record_too_long(r, first, "sentence", " (blank lines missing?)");
            if (bad_line) continue; /* consume the rest of a bad sentence */
            if (memchr(s, 0, n)) {
                bad_line = r->src.lineno;
                snprintf(bad, sizeof bad, "NUL byte");
                continue;
            }
            /* the tag is the last column: trailing blanks (a tab after the tag) must not make an empty one */
            while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
            char *tok = s, *tag;
            if (split_cols(s, n, &tok, 1, &tag) < 2) {
                bad_line = r->src.lineno;
                snprintf(bad, sizeof bad, "no tag column (token \"%.60s\")", tok);
                continue;
            }
            if ((st = arena_add(r, tok, strlen(tok))) || (st = arena_add(r, tag, strlen(tag)))) return st;
        }
        if (k < 0) return k;
        if (!first) return 0;
        if (bad_line) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, bad_line, "%s", bad))) return e;
            continue;
        }
        size_t n = r->n_offs / 2;
        /* offsets alternate token, tag: regroup as tokens then tags */
        if ((st = offs_to_ptrs(r, &r->arena, r->offs, 2 * n))) return st;
        const char **tmp = malloc((2 * n + 1) * sizeof *tmp);
        if (!tmp) return bh__fail(BH_ENOMEM, "token pointers");
        for (size_t i = 0; i < n; i++) {
            tmp[i] = r->ptrs[2 * i];
            tmp[n + i] = r->ptrs[2 * i + 1];
        }
        memcpy(r->ptrs, tmp, 2 * n * sizeof *tmp);
        free(tmp);
        for (size_t i = 0; i < n; i++) {
            if (i && (st = bh_buf_append(&r->text, " ", 1))) return st;
            if ((st = bh_buf_append(&r->text, r->ptrs[i], strlen(r->ptrs[i])))) return st;
        }
        if (r->o.scheme != BH_TAGS_ASIS || r->o.label_map) {
            const char *et = NULL;
            size_t ei = 0;
            int c = convert_tags(r, r->ptrs + n, n, &et, &ei);
            if (c == -1000) {
                if ((e = bh__corpus_problem(r, BH_EFORMAT, first + (long)ei, "malformed tag \"%s\"", et))) return e;
                continue;
            }
            if (c < 0) return c;
            for (size_t i = 0; i < n; i++) r->ptrs[n + i] = r->conv.data + r->conv_offs[i];
        }
        rec->tokens = r->ptrs;
        rec->tags = r->ptrs + n;
        rec->n_tokens = n;
        rec->line = first;
        return 1;
    }
}

/* ---- CoNLL-U -------------------------------------------------------------- */

static int conllu_kind(const char *id)
{
    if (!*id) return -1;
    const char *p = id;
    while (*p >= '0' && *p <= '9') p++;
    if (p == id) return -1;
    if (!*p) return 0;
    char sep = *p++;
    const char *q = p;
    while (*p >= '0' && *p <= '9') p++;
    if (p == q || *p) return -1;
    return sep == '-' ? 1 : sep == '.' ? 2 : -1;
}

static int next_conllu(bh_corpus *r, bh_corpus_record *rec)
{
    int k, e;
    bh_status st;
    for (;;) {
        reset_record(r, rec);
        long first = 0, bad_line = 0;
        char bad[160] = "";
        size_t nrows = 0, rec_bytes = 0;
        int have_text = 0, have_sid = 0, seen_words = 0;
        while ((k = get_line(r)) == 1) {
            char *s = r->line.data;
            size_t n = r->line.len;
            if (is_blank(s, n)) {
                if (first) break;
                continue;
            }
            if (s[0] == '#' && seen_words) {
                /* comments only come before a sentence's word lines: this one starts the
                 * next sentence (the blank line is missing, e.g. two files concatenated) */
                r->unread = 1;
                break;
            }
            if (!first) first = r->src.lineno;
            rec_bytes += (rec_bytes ? 1 : 0) + n;
            if (rec_bytes > r->src.max_line) return record_too_long(r, first, "sentence", " (blank lines missing?)");
            if (s[0] != '#') seen_words = 1;
            if (bad_line) continue;
            if (memchr(s, 0, n)) {
                bad_line = r->src.lineno;
                snprintf(bad, sizeof bad, "NUL byte");
                continue;
            }
            if (s[0] == '#') {
                if (strncmp(s, "# text = ", 9) == 0) {
                    if ((st = set_str(&r->text, s + 9, n - 9))) return st;
                    have_text = 1;
                } else if (strncmp(s, "# sent_id = ", 12) == 0) {
                    if ((st = set_str(&r->id, s + 12, n - 12))) return st;
                    have_sid = 1;
                }
                continue;
            }
            char *col[10], *last;
            int has_tab = memchr(s, '\t', n) != NULL;
            size_t nc = split_cols(s, n, col, 10, &last);
            if (!has_tab || nc != 10) {
                bad_line = r->src.lineno;
                if (has_tab)
                    snprintf(bad, sizeof bad, "%zu tab-separated columns, CoNLL-U needs 10", nc);
                else
                    snprintf(bad, sizeof bad, "no tab (%zu space-separated columns), CoNLL-U needs 10 tab-separated ones",
                             nc);
                continue;
            }
            int kind = conllu_kind(col[0]);
            if (kind < 0) {
                bad_line = r->src.lineno;
                snprintf(bad, sizeof bad, "bad ID \"%.40s\"", col[0]);
                continue;
            }
            for (int c = 0; c < 10; c++)
                if ((st = arena_add(r, col[c], strlen(col[c])))) return st;
            if (nrows == r->rows_cap) {
                size_t cap = r->rows_cap ? r->rows_cap * 2 : 64;
                bh_conllu_row *p = realloc(r->rows, cap * sizeof *p);
                if (!p) return bh__fail(BH_ENOMEM, "CoNLL-U rows");
                r->rows = p;
                r->rows_cap = cap;
            }
            r->rows[nrows++].kind = kind;
        }
        if (k < 0) return k;
        if (!first) return 0;
        if (bad_line) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, bad_line, "%s", bad))) return e;
            continue;
        }
        if (nrows == 0) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, first, "sentence without any word line"))) return e;
            continue;
        }
        size_t nw = 0;
        for (size_t i = 0; i < nrows; i++) {
            for (int c = 0; c < 10; c++) r->rows[i].col[c] = r->arena.data + r->offs[i * 10 + c];
            if (r->rows[i].kind == 0) nw++;
        }
        if ((st = ensure_ptrs(r, 2 * nw))) return st;
        size_t w = 0;
        for (size_t i = 0; i < nrows; i++)
            if (r->rows[i].kind == 0) {
                r->ptrs[w] = r->rows[i].col[1];
                r->ptrs[nw + w] = r->rows[i].col[3];
                w++;
            }
        if (!have_text) {
            for (size_t i = 0; i < nw; i++) {
                if (i && (st = bh_buf_append(&r->text, " ", 1))) return st;
                if ((st = bh_buf_append(&r->text, r->ptrs[i], strlen(r->ptrs[i])))) return st;
            }
        }
        if (have_sid) rec->id = r->id.data;
        rec->rows = r->rows;
        rec->n_rows = nrows;
        rec->tokens = r->ptrs;
        rec->tags = r->ptrs + nw;
        rec->n_tokens = nw;
        rec->line = first;
        return 1;
    }
}

/* ---- SQuAD JSON ----------------------------------------------------------- */

static bh_status squad_load(bh_corpus *r)
{
    bh_buf all = {0};
    char tmp[1 << 16];
    long n;
    while ((n = bh__src_read(&r->src, tmp, sizeof tmp)) > 0) {
        if (all.len + (size_t)n > ((size_t)1 << 31)) {
            bh_buf_free(&all);
            return bh__fail(BH_ELIMIT, "%s: SQuAD file over 2 GiB", r->src.path);
        }
        if (bh_buf_append(&all, tmp, (size_t)n)) {
            bh_buf_free(&all);
            return BH_ENOMEM;
        }
    }
    if (n < 0) {
        bh_buf_free(&all);
        return (bh_status)n;
    }
    json_error_t je;
    json_t *root = json_loadb(all.data ? all.data : "", all.len, 0, &je);
    bh_buf_free(&all);
    if (!root) return bh__fail(BH_EFORMAT, "%s:%d: invalid JSON: %s", r->src.path, je.line, je.text);
    if (!json_is_array(json_object_get(root, "data"))) {
        json_decref(root);
        return bh__fail(BH_EFORMAT, "%s: not SQuAD JSON (no \"data\" array)", r->src.path);
    }
    r->json = root;
    return BH_OK;
}

/* Byte offset of code point `cp` in s[0..n), or -1 past the end. */
static long cp_to_byte(const char *s, size_t n, long cp)
{
    size_t i = 0;
    long c = 0;
    while (c < cp) {
        if (i >= n) return -1;
        unsigned char b = (unsigned char)s[i];
        i += b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        c++;
    }
    return i <= n ? (long)i : -1;
}

static int next_squad(bh_corpus *r, bh_corpus_record *rec)
{
    json_t *data = json_object_get((json_t *)r->json, "data");
    int e;
    for (;;) {
        reset_record(r, rec);
        json_t *art = json_array_get(data, r->art);
        if (!art) return 0;
        json_t *pars = json_object_get(art, "paragraphs");
        if (!json_is_array(pars)) {
            /* a whole article of questions would otherwise vanish without a word */
            size_t a = r->art++;
            r->par = r->qa = 0;
            if ((e = bh__corpus_problem(r, BH_EFORMAT, 0, "data[%zu]: %s", a,
                                        json_is_object(art) ? "article without a \"paragraphs\" array"
                                                            : "article is not a JSON object")))
                return e;
            continue;
        }
        json_t *par = json_array_get(pars, r->par);
        if (!par) {
            r->art++;
            r->par = r->qa = 0;
            continue;
        }
        json_t *qas = json_object_get(par, "qas");
        if (!json_is_array(qas)) {
            size_t p = r->par++;
            r->qa = 0;
            if ((e = bh__corpus_problem(r, BH_EFORMAT, 0, "data[%zu].paragraphs[%zu]: %s", r->art, p,
                                        json_is_object(par) ? "paragraph without a \"qas\" array"
                                                            : "paragraph is not a JSON object")))
                return e;
            continue;
        }
        json_t *q = json_array_get(qas, r->qa);
        if (!q) {
            r->par++;
            r->qa = 0;
            continue;
        }
        size_t qi = r->qa++;
        json_t *ctx = json_object_get(par, "context");
        json_t *qid = json_object_get(q, "id");
        json_t *qq = json_object_get(q, "question");
        json_t *ans = json_object_get(q, "answers");
        if (!json_is_string(ctx) || !json_is_string(qq) || !json_is_string(qid) || (ans && !json_is_array(ans))) {
            if ((e = bh__corpus_problem(r, BH_EFORMAT, 0,
                                        "data[%zu].paragraphs[%zu].qas[%zu]: missing context, id, question or answers",
                                        r->art, r->par, qi)))
                return e;
            continue;
        }
        const char *cs = json_string_value(ctx);
        size_t cn = json_string_length(ctx);
        int impossible = json_is_true(json_object_get(q, "is_impossible"));
        size_t na = json_array_size(ans);
        if (na > r->answers_cap) {
            bh_squad_answer *p = realloc(r->answers, na * sizeof *p);
            if (!p) return bh__fail(BH_ENOMEM, "SQuAD answers");
            r->answers = p;
            r->answers_cap = na;
        }
        int bad = 0;
        for (size_t i = 0; i < na && !bad; i++) {
            json_t *a = json_array_get(ans, i);
            json_t *at = json_object_get(a, "text");
            json_t *as = json_object_get(a, "answer_start");
            if (!json_is_string(at) || !json_is_integer(as)) {
                bad = bh__corpus_problem(r, BH_EFORMAT, 0, "question %s: answer %zu lacks text or answer_start",
                                         json_string_value(qid), i + 1);
                bad = bad ? bad : 1;
                break;
            }
            long st = (long)json_integer_value(as);
            size_t tl = json_string_length(at);
            long b = st >= 0 ? cp_to_byte(cs, cn, st) : -1;
            if (b < 0 || (size_t)b + tl > cn || memcmp(cs + b, json_string_value(at), tl) != 0) {
                int p = bh__corpus_problem(r, BH_EFORMAT, 0,
                                           "question %s: answer \"%.80s\" not found at offset %ld of the context",
                                           json_string_value(qid), json_string_value(at), st);
                bad = p ? p : 1;
                break;
            }
            r->answers[i].text = json_string_value(at);
            r->answers[i].start = st;
        }
        if (bad) {
            if (bad < 0) return bad;
            continue;
        }
        json_t *title = json_object_get(art, "title");
        rec->title = json_is_string(title) ? json_string_value(title) : NULL;
        rec->id = json_string_value(qid);
        rec->text = cs;
        rec->text_len = cn;
        rec->question = json_string_value(qq);
        rec->answers = r->answers;
        rec->n_answers = na;
        rec->is_impossible = impossible;
        return 1;
    }
}

/* ---- public ----------------------------------------------------------------- */

bh_status bh_corpus_format_parse(const char *name, bh_corpus_format *fmt, char *delim)
{
    static const struct { const char *n; bh_corpus_format f; char d; } tab[] = {
        {"auto", BH_CORPUS_AUTO, 0},  {"text", BH_CORPUS_TEXT, 0},   {"jsonl", BH_CORPUS_JSONL, 0},
        {"csv", BH_CORPUS_CSV, ','},  {"tsv", BH_CORPUS_CSV, '\t'},  {"conll", BH_CORPUS_CONLL, 0},
        {"conllu", BH_CORPUS_CONLLU, 0}, {"squad", BH_CORPUS_SQUAD, 0}, {"wiki", BH_CORPUS_WIKI, 0},
    };
    if (!name || !fmt) return bh__fail(BH_EINVAL, "no format name");
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(name, tab[i].n) == 0) {
            *fmt = tab[i].f;
            if (delim) *delim = tab[i].d;
            return BH_OK;
        }
    return bh__fail(BH_EINVAL, "unknown format \"%s\" (text, jsonl, csv, tsv, conll, conllu, squad, wiki)", name);
}

static bh_corpus_format guess_format(const char *path, char *delim)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    if (strstr(b, ".jsonl")) return BH_CORPUS_JSONL;
    if (strstr(b, ".tsv")) {
        *delim = *delim ? *delim : '\t';
        return BH_CORPUS_CSV;
    }
    if (strstr(b, ".csv")) return BH_CORPUS_CSV;
    if (strstr(b, ".conllu")) return BH_CORPUS_CONLLU;
    if (strstr(b, ".conll")) return BH_CORPUS_CONLL;
    if (strstr(b, ".json")) return BH_CORPUS_SQUAD;
    if (strstr(b, ".xml")) return BH_CORPUS_WIKI;
    return BH_CORPUS_TEXT;
}

bh_status bh_corpus_open(const char *path, const bh_corpus_options *opt, bh_corpus **out)
{
    if (!out) return bh__fail(BH_EINVAL, "bh_corpus_open: out is NULL");
    *out = NULL;
    if (!path) return bh__fail(BH_EINVAL, "bh_corpus_open: path is NULL");
    bh_corpus *r = calloc(1, sizeof *r);
    if (!r) return bh__fail(BH_ENOMEM, "reader");
    if (opt) r->o = *opt;
    if (r->o.format == BH_CORPUS_AUTO) r->o.format = guess_format(path, &r->o.delimiter);
    if (r->o.format == BH_CORPUS_CSV && !r->o.delimiter) r->o.delimiter = strstr(path, ".tsv") ? '\t' : ',';
    if (r->o.format == BH_CORPUS_CSV && (r->o.delimiter == '"' || r->o.delimiter == '\n')) {
        free(r);
        return bh__fail(BH_EINVAL, "bad CSV delimiter");
    }
    bh_status st = bh__src_open(&r->src, path, r->o.max_record_bytes);
    if (st) {
        free(r);
        return st;
    }
    if (r->o.format == BH_CORPUS_CSV) {
        st = csv_header(r);
        if (st < 0) {
            bh_corpus_free(r);
            return st;
        }
    } else if (r->o.format == BH_CORPUS_SQUAD) {
        st = squad_load(r);
    } else if (r->o.format == BH_CORPUS_WIKI) {
        st = bh__wiki_open(r);
    }
    if (st < 0) {
        bh_corpus_free(r);
        return st;
    }
    *out = r;
    return BH_OK;
}

int bh_corpus_next(bh_corpus *r, bh_corpus_record *rec)
{
    if (!r || !rec) return bh__fail(BH_EINVAL, "bh_corpus_next: NULL argument");
    if (r->done) {
        if (r->stop_err) return r->stop_err;
        return 0;
    }
    memset(rec, 0, sizeof *rec);
    int k;
    switch (r->o.format) {
    case BH_CORPUS_TEXT: k = next_text(r, rec); break;
    case BH_CORPUS_JSONL: k = next_jsonl(r, rec); break;
    case BH_CORPUS_CSV: k = next_csv(r, rec); break;
    case BH_CORPUS_CONLL: k = next_conll(r, rec); break;
    case BH_CORPUS_CONLLU: k = next_conllu(r, rec); break;
    case BH_CORPUS_SQUAD: k = next_squad(r, rec); break;
    case BH_CORPUS_WIKI: k = bh__wiki_next(r, rec); break;
    default: return bh__fail(BH_EINVAL, "bad format");
    }
    if (k < 0) {
        /* k is the real status: a problem reported in stop mode returns its own code */
        r->done = 1;
        if (r->stop_err == 0) r->stop_err = k;
        return r->stop_err;
    }
    if (k == 0) {
        r->done = 1;
        return 0;
    }
    if (!rec->text && r->o.format != BH_CORPUS_SQUAD) {
        bh_status st = r->text.data ? BH_OK : bh_buf_append(&r->text, "", 0);
        if (st) return st;
        rec->text = r->text.data;
        rec->text_len = r->text.len;
    }
    rec->index = r->index++;
    return 1;
}

long bh_corpus_skipped(const bh_corpus *r)
{
    return r ? r->skipped : 0;
}

const char *bh_corpus_problem(const bh_corpus *r, long i)
{
    if (!r || i < 0 || i >= r->skipped || i >= BH__MAX_PROBLEMS) return NULL;
    return r->problems[i];
}

void bh_corpus_free(bh_corpus *r)
{
    if (!r) return;
    if (r->wiki) bh__wiki_free(r);
    bh__src_close(&r->src);
    for (int i = 0; i < BH__MAX_PROBLEMS; i++) free(r->problems[i]);
    bh_buf_free(&r->line);
    bh_buf_free(&r->text);
    bh_buf_free(&r->label);
    bh_buf_free(&r->id);
    bh_buf_free(&r->title);
    bh_buf_free(&r->question);
    bh_buf_free(&r->arena);
    bh_buf_free(&r->conv);
    free(r->offs);
    free(r->ptrs);
    free(r->rows);
    free(r->answers);
    free(r->conv_offs);
    if (r->json) json_decref((json_t *)r->json);
    free(r);
}
