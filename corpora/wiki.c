/* corpora/wiki.c — MediaWiki XML export reader (libxml2 streaming xmlTextReader:
 * one <page> in memory at a time) and the wikitext-to-plain-text cleaner. */
#include <libxml/xmlreader.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "corpora/reader_impl.h"

typedef struct wiki_state {
    xmlTextReaderPtr rd;
    char err[400];        /* first parser error, with its line */
    char io_err[400];     /* first read error from the byte source */
    bh_buf raw;
} wiki_state;

static int io_read(void *ctx, char *buf, int len)
{
    bh_corpus *r = ctx;
    wiki_state *w = r->wiki;
    long n = bh__src_read(&r->src, buf, (size_t)len);
    if (n < 0) {
        if (!w->io_err[0]) snprintf(w->io_err, sizeof w->io_err, "%s", bh_last_error());
        return -1;
    }
    return (int)n;
}

static int io_close(void *ctx)
{
    (void)ctx;
    return 0;
}

static void on_error(void *arg, const char *msg, xmlParserSeverities sev, xmlTextReaderLocatorPtr loc)
{
    wiki_state *w = arg;
    if (sev != XML_PARSER_SEVERITY_ERROR && sev != XML_PARSER_SEVERITY_VALIDITY_ERROR) return;
    if (w->err[0]) return;
    int line = loc ? xmlTextReaderLocatorLineNumber(loc) : 0;
    snprintf(w->err, sizeof w->err, "line %d: %s", line, msg ? msg : "XML error");
    size_t k = strlen(w->err);
    while (k && (w->err[k - 1] == '\n' || w->err[k - 1] == ' ')) w->err[--k] = 0;
    for (char *p = w->err; *p; p++) /* libxml2 messages may span lines; the detail is one line */
        if (*p == '\n' || *p == '\r') *p = ' ';
}

bh_status bh__wiki_open(bh_corpus *r)
{
    wiki_state *w = calloc(1, sizeof *w);
    if (!w) return bh__fail(BH_ENOMEM, "wiki reader");
    r->wiki = w;
    /* Without XML_PARSE_HUGE libxml2 refuses text nodes over 10,000,000 bytes, so pages
     * between that and max_record_bytes (64 MiB by default) would stop the reader. Our
     * own page limit applies once libxml2 hands the text over; until then libxml2 holds
     * the node itself, up to its hard cap of 1 GB. Entities are still not expanded
     * (no XML_PARSE_NOENT), so entity bombs do not grow. */
    w->rd = xmlReaderForIO(io_read, io_close, r, NULL, NULL, XML_PARSE_NONET | XML_PARSE_HUGE);
    if (!w->rd) return bh__fail(BH_ENOMEM, "libxml2 reader");
    xmlTextReaderSetErrorHandler(w->rd, on_error, w);
    return BH_OK;
}

void bh__wiki_free(bh_corpus *r)
{
    wiki_state *w = r->wiki;
    if (!w) return;
    if (w->rd) xmlFreeTextReader(w->rd);
    bh_buf_free(&w->raw);
    free(w);
    r->wiki = NULL;
}

/* Reads the current element's text into dst. Returns 0, 1 when it is over the size
 * limit (dst is then left empty and not grown), or a negative status. */
static int read_string(bh_corpus *r, bh_buf *dst)
{
    wiki_state *w = r->wiki;
    xmlChar *s = xmlTextReaderReadString(w->rd);
    bh_buf_clear(dst);
    size_t n = s ? strlen((const char *)s) : 0;
    int k = 1;
    if (n <= r->src.max_line) k = bh_buf_append(dst, s ? (const char *)s : "", n);
    xmlFree(s);
    return k;
}

/* Line of the current element. The parser's own line number runs ahead of the node
 * handed out (it has read the next chunk already); the node's is exact but libxml2
 * saturates it at 65535, and past that the parser's is the best there is. */
static long page_start_line(xmlTextReaderPtr rd)
{
    xmlNodePtr node = xmlTextReaderCurrentNode(rd);
    long line = node ? xmlGetLineNo(node) : -1;
    return line > 0 && line < 65535 ? line : xmlTextReaderGetParserLineNumber(rd);
}

int bh__wiki_next(bh_corpus *r, bh_corpus_record *rec)
{
    wiki_state *w = r->wiki;
    int in_page = 0, page_depth = 0, redirect = 0, ns = 0, have_id = 0, in_rev = 0, k;
    const char *too_big = NULL; /* element of the current page over the size limit */
    long page_line = 0;
    int ret;
    while ((ret = xmlTextReaderRead(w->rd)) == 1) {
        int type = xmlTextReaderNodeType(w->rd);
        const char *name = (const char *)xmlTextReaderConstLocalName(w->rd);
        if (!name) continue;
        if (type == XML_READER_TYPE_ELEMENT) {
            if (strcmp(name, "page") == 0) {
                if (xmlTextReaderIsEmptyElement(w->rd)) continue;
                in_page = 1;
                page_depth = xmlTextReaderDepth(w->rd);
                page_line = page_start_line(w->rd);
                redirect = ns = have_id = in_rev = 0;
                too_big = NULL;
                bh_buf_clear(&r->title);
                bh_buf_clear(&r->id);
                bh_buf_clear(&w->raw);
                continue;
            }
            if (!in_page) continue;
            if (strcmp(name, "revision") == 0) in_rev = 1;
            else if (strcmp(name, "title") == 0) {
                if ((k = read_string(r, &r->title)) < 0) return k;
                if (k) too_big = "<title>";
            } else if (strcmp(name, "ns") == 0) {
                bh_buf t = {0};
                if ((k = read_string(r, &t)) < 0) return k;
                if (k) too_big = "<ns>";
                ns = atoi(t.data ? t.data : "0");
                bh_buf_free(&t);
            } else if (strcmp(name, "id") == 0 && !in_rev && !have_id &&
                       xmlTextReaderDepth(w->rd) == page_depth + 1) {
                if ((k = read_string(r, &r->id)) < 0) return k;
                if (k) too_big = "<id>";
                have_id = 1;
            } else if (strcmp(name, "redirect") == 0) {
                redirect = 1;
            } else if (strcmp(name, "text") == 0 && in_rev) {
                if ((k = read_string(r, &w->raw)) < 0) return k;
                if (k) too_big = "page text";
            }
        } else if (type == XML_READER_TYPE_END_ELEMENT && in_page && strcmp(name, "page") == 0) {
            in_page = 0;
            if (!r->o.wiki_all_namespaces && ns != 0) continue;
            if (!r->o.wiki_keep_redirects && redirect) continue;
            if (too_big) {
                /* the XML parser is still in step, so the page can be skipped like any bad record */
                int e = bh__corpus_problem(r, BH_ELIMIT, page_line, "%s over %zu bytes", too_big, r->src.max_line);
                if (e) return e;
                continue;
            }
            bh_status st;
            bh_buf_clear(&r->text);
            if (r->o.wiki_raw) {
                if ((st = bh_buf_append(&r->text, w->raw.data ? w->raw.data : "", w->raw.len))) return st;
            } else if ((st = bh_wikitext_clean(w->raw.data ? w->raw.data : "", w->raw.len, &r->text))) {
                return st;
            }
            if (!r->text.data && (st = bh_buf_append(&r->text, "", 0))) return st;
            rec->title = r->title.data;
            rec->id = r->id.data;
            rec->line = page_line;
            return 1;
        }
    }
    if (ret < 0) {
        r->done = 1;
        r->stop_err = w->io_err[0] ? BH_EIO : BH_EFORMAT;
        if (w->io_err[0]) return bh__fail(BH_EIO, "%s", w->io_err);
        return bh__fail(BH_EFORMAT, "%s: XML not well-formed: %s", r->src.path,
                        w->err[0] ? w->err : "parse error");
    }
    if (in_page) {
        r->done = 1;
        r->stop_err = BH_EFORMAT;
        return bh__fail(BH_EFORMAT, "%s:%ld: input ends inside a <page>", r->src.path, page_line);
    }
    return 0;
}

/* ---- wikitext cleaner ------------------------------------------------------ */

static int starts(const char *s, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    return i + k <= n && memcmp(s + i, lit, k) == 0;
}

static int starts_ci(const char *s, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    if (i + k > n) return 0;
    for (size_t j = 0; j < k; j++) {
        char c = s[i + j];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != lit[j]) return 0;
    }
    return 1;
}

/* Skips a balanced open/close pair starting at i; returns the index after it (n if unclosed). */
static size_t skip_balanced(const char *s, size_t n, size_t i, const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close);
    int depth = 0;
    while (i < n) {
        if (starts(s, n, i, open)) {
            depth++;
            i += lo;
        } else if (starts(s, n, i, close)) {
            depth--;
            i += lc;
            if (depth == 0) return i;
        } else {
            i++;
        }
    }
    return n;
}

static size_t find(const char *s, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);
    for (; i + k <= n; i++)
        if (memcmp(s + i, lit, k) == 0) return i;
    return n;
}

/* Index of the first c at or after i in s[0..n), or n. *memo keeps the last answer
 * (SIZE_MAX before the first search): as i only grows, an answer not behind i still
 * holds, so every byte is scanned at most once per character looked for. Searching
 * afresh from each '<' or '[' instead would make text such as "<a<a<a..." quadratic. */
static size_t next_char(const char *s, size_t n, size_t i, char c, size_t *memo)
{
    if (*memo != SIZE_MAX && *memo >= i) return *memo;
    const char *p = i < n ? memchr(s + i, c, n - i) : NULL;
    *memo = p ? (size_t)(p - s) : n;
    return *memo;
}

static size_t find_ci(const char *s, size_t n, size_t i, const char *lit)
{
    for (; i < n; i++)
        if (starts_ci(s, n, i, lit)) return i;
    return n;
}

static bh_status put_utf8(bh_buf *o, unsigned long cp)
{
    char b[4];
    size_t k;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        k = 4;
    }
    return bh_buf_append(o, b, k);
}

/* Decodes an HTML entity at s[i] == '&'; returns bytes consumed (0 = not an entity). */
static size_t entity(const char *s, size_t n, size_t i, bh_buf *o, bh_status *st)
{
    static const struct { const char *name; unsigned long cp; } ents[] = {
        {"amp", '&'},     {"lt", '<'},       {"gt", '>'},       {"quot", '"'},    {"apos", '\''},
        {"nbsp", ' '},    {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"laquo", 0xAB},
        {"raquo", 0xBB},  {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
        {"zwj", 0x200D},  {"zwnj", 0x200C},  {"minus", 0x2212}, {"times", 0xD7},   {"deg", 0xB0},
    };
    size_t semi = i + 1;
    while (semi < n && semi < i + 12 && s[semi] != ';') semi++;
    if (semi >= n || s[semi] != ';') return 0;
    const char *e = s + i + 1;
    size_t el = semi - i - 1;
    if (el >= 2 && e[0] == '#') {
        char tmp[16];
        if (el >= sizeof tmp) return 0;
        memcpy(tmp, e + 1, el - 1);
        tmp[el - 1] = 0;
        char *end;
        unsigned long cp = (tmp[0] == 'x' || tmp[0] == 'X') ? strtoul(tmp + 1, &end, 16) : strtoul(tmp, &end, 10);
        if (*end || end == tmp) return 0;
        *st = put_utf8(o, cp);
        return el + 2;
    }
    for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++)
        if (strlen(ents[k].name) == el && memcmp(ents[k].name, e, el) == 0) {
            *st = put_utf8(o, ents[k].cp);
            return el + 2;
        }
    return 0;
}

static int is_skip_tag(const char *s, size_t n, size_t i, const char **close)
{
    static const char *const tags[] = {"ref", "math", "gallery", "timeline", "syntaxhighlight", "source",
                                       "score", "chem", "hiero", "graph", "templatedata", "mapframe"};
    static const char *const closes[] = {"</ref", "</math", "</gallery", "</timeline", "</syntaxhighlight",
                                         "</source", "</score", "</chem", "</hiero", "</graph",
                                         "</templatedata", "</mapframe"};
    for (size_t k = 0; k < sizeof tags / sizeof tags[0]; k++) {
        size_t l = strlen(tags[k]);
        if (starts_ci(s, n, i + 1, tags[k]) && i + 1 + l < n &&
            (s[i + 1 + l] == '>' || s[i + 1 + l] == ' ' || s[i + 1 + l] == '/' || s[i + 1 + l] == '\t')) {
            *close = closes[k];
            return 1;
        }
    }
    return 0;
}

/* First pass: markup removed inline. */
static bh_status clean_inline(const char *s, size_t n, bh_buf *o, int depth)
{
    size_t i = 0;
    size_t memo_gt = SIZE_MAX, memo_nl = SIZE_MAX, memo_rb = SIZE_MAX;
    bh_status st = BH_OK;
    while (i < n && !st) {
        char c = s[i];
        if (c == '<') {
            const char *close;
            if (starts(s, n, i, "<!--")) {
                size_t e = find(s, n, i + 4, "-->");
                i = e < n ? e + 3 : n;
                continue;
            }
            if (is_skip_tag(s, n, i, &close)) {
                size_t gt = find(s, n, i, ">");
                if (gt < n && s[gt - 1] == '/') {
                    i = gt + 1;
                    continue;
                }
                size_t e = find_ci(s, n, gt, close);
                if (e >= n) {
                    i = n;
                    continue;
                }
                size_t gt2 = find(s, n, e, ">");
                i = gt2 < n ? gt2 + 1 : n;
                continue;
            }
            if (i + 1 < n && (s[i + 1] == '/' || (s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
                              (s[i + 1] >= 'A' && s[i + 1] <= 'Z'))) {
                size_t gt = next_char(s, n, i, '>', &memo_gt);
                size_t nl = next_char(s, n, i, '\n', &memo_nl);
                if (gt < n && gt < nl) {
                    if (starts_ci(s, n, i, "<br")) st = bh_buf_append(o, "\n", 1);
                    i = gt + 1;
                    continue;
                }
            }
        } else if (c == '{' && starts(s, n, i, "{{")) {
            i = skip_balanced(s, n, i, "{{", "}}");
            continue;
        } else if (c == '{' && starts(s, n, i, "{|") && (i == 0 || s[i - 1] == '\n')) {
            i = skip_balanced(s, n, i, "{|", "|}");
            continue;
        } else if (c == '[' && starts(s, n, i, "[[")) {
            size_t e = skip_balanced(s, n, i, "[[", "]]");
            size_t in0 = i + 2, in1 = e >= 2 && e <= n && starts(s, n, e - 2, "]]") ? e - 2 : e;
            i = e;
            const char *colon = memchr(s + in0, ':', in1 - in0);
            const char *pipe = memchr(s + in0, '|', in1 - in0);
            if (colon && (!pipe || colon < pipe) && colon > s + in0) {
                /* File:, Category:, interlanguage links and other namespaces: dropped */
                continue;
            }
            if (colon == s + in0) in0++; /* [[:Category:X]] style: keep the text */
            /* label: after the last top-level pipe */
            size_t lab = in0;
            int d = 0;
            for (size_t k = in0; k < in1; k++) {
                if (starts(s, in1, k, "[[")) d++;
                else if (starts(s, in1, k, "]]")) d--;
                else if (s[k] == '|' && d == 0) lab = k + 1;
            }
            if (depth < 8) st = clean_inline(s + lab, in1 - lab, o, depth + 1);
            continue;
        } else if (c == '[' && (starts_ci(s, n, i + 1, "http://") || starts_ci(s, n, i + 1, "https://") ||
                                starts(s, n, i + 1, "//") || starts_ci(s, n, i + 1, "ftp://"))) {
            size_t e = next_char(s, n, i, ']', &memo_rb);
            size_t nl = next_char(s, n, i, '\n', &memo_nl);
            if (e < n && e < nl) {
                const char *sp = memchr(s + i, ' ', e - i);
                if (sp && depth < 8) st = clean_inline(sp + 1, (size_t)(s + e - sp - 1), o, depth + 1);
                i = e + 1;
                continue;
            }
        } else if (c == '\'' && starts(s, n, i, "''")) {
            while (i < n && s[i] == '\'') i++;
            continue;
        } else if (c == '&') {
            size_t k = entity(s, n, i, o, &st);
            if (k) {
                i += k;
                continue;
            }
        } else if (c == '_' && starts(s, n, i, "__")) {
            size_t k = i + 2;
            while (k < n && s[k] >= 'A' && s[k] <= 'Z') k++;
            if (k > i + 2 && starts(s, n, k, "__")) {
                i = k + 2;
                continue;
            }
        }
        /* plain text: copy the whole run up to the next character that may start markup */
        size_t j = i + 1;
        while (j < n && !(s[j] == '<' || s[j] == '{' || s[j] == '[' || s[j] == '\'' || s[j] == '&' || s[j] == '_')) j++;
        st = bh_buf_append(o, s + i, j - i);
        i = j;
    }
    return st;
}

bh_status bh_wikitext_clean(const char *s, size_t n, bh_buf *out)
{
    if ((!s && n) || !out) return bh__fail(BH_EINVAL, "bh_wikitext_clean: NULL argument");
    bh_buf tmp = {0};
    bh_status st = clean_inline(s ? s : "", n, &tmp, 0);
    if (st) {
        bh_buf_free(&tmp);
        return bh__fail(BH_ENOMEM, "wikitext");
    }
    bh_buf_clear(out);
    /* second pass, line by line: headings, list markers, rules, spaces, blank runs */
    const char *p = tmp.data ? tmp.data : "";
    const char *end = p + tmp.len;
    int blank_run = 1;
    while (p < end && !st) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *a = p, *b = le;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        if (b - a >= 4 && memcmp(a, "----", 4) == 0) a = b;
        while (a < b && (*a == '*' || *a == '#' || *a == ':' || *a == ';' || *a == '=')) a++;
        while (b > a && (b[-1] == '=' || b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        if (a == b) {
            if (!blank_run && out->len) st = bh_buf_append(out, "\n", 1);
            blank_run = 1;
        } else {
            if (out->len) st = bh_buf_append(out, "\n", 1);
            const char *q = a;
            while (q < b && !st) { /* words copied whole, blank runs become one space */
                const char *e = q;
                while (e < b && *e != ' ' && *e != '\t') e++;
                st = bh_buf_append(out, q, (size_t)(e - q));
                q = e;
                while (q < b && (*q == ' ' || *q == '\t')) q++;
                if (q < b && !st) st = bh_buf_append(out, " ", 1);
            }
            blank_run = 0;
        }
        p = nl ? nl + 1 : end;
    }
    while (!st && out->len && out->data[out->len - 1] == '\n') out->data[--out->len] = 0;
    if (!st && !out->data) st = bh_buf_append(out, "", 0);
    bh_buf_free(&tmp);
    return st ? bh__fail(BH_ENOMEM, "wikitext") : BH_OK;
}
