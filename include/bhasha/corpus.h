/* bhasha/corpus.h — streaming dataset readers: plain text, JSON lines, CSV/TSV
 * (RFC 4180), CoNLL token/tag files, CoNLL-U, SQuAD JSON and MediaWiki XML dumps,
 * plus NER tag-scheme conversion and corpus statistics.
 *
 * One interface for every format: bh_corpus_open() → bh_corpus_next() until it
 * returns 0 → bh_corpus_free(). Files are read through zlib, so `.gz` input is
 * decompressed transparently (and plain files read as they are); "-" is stdin.
 * Memory stays constant in the input size (one record of at most max_record_bytes
 * at a time; the single exception is SQuAD JSON, which is one JSON document and is
 * parsed whole). For MediaWiki XML, libxml2 holds a page's text before the
 * limit can be checked, up to its own cap of 1 GB per text node.
 *
 * Memory: the reader owns every string a bh_corpus_record points to; they stay
 * valid until the next bh_corpus_next() or bh_corpus_free() on that reader.
 * Strings in a record are NUL-terminated and also carry lengths where they may
 * hold NUL bytes (text).
 *
 * Errors: a bad record (CSV with an unclosed quote, CoNLL line without a tag
 * column, SQuAD article without paragraphs or answer whose offset does not match
 * its context, wiki page over the size limit, ...) is a "record problem". A bad
 * record is read to its end first, so the next record starts where it should.
 * With BH_ON_ERROR_STOP the reader returns its error code and the detail
 * "FILE:LINE: what" via bh_last_error(); with BH_ON_ERROR_SKIP the record is
 * skipped, counted (bh_corpus_skipped) and the first problems kept
 * (bh_corpus_problem). Input-level failures (I/O, truncated gzip, XML that is not
 * well-formed, no memory, a line or a record spanning lines over the size limit:
 * BH_ELIMIT) always stop.
 *
 * Thread-safety: a reader must be used by one thread at a time; different
 * readers are independent. The tag and statistics functions are reentrant. */
#ifndef BHASHA_CORPUS_H
#define BHASHA_CORPUS_H

#include <stdint.h>

#include "bhasha/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bh_corpus_format {
    BH_CORPUS_AUTO = 0, /* from the file name: .jsonl .csv .tsv .conllu .json .xml, else text */
    BH_CORPUS_TEXT,     /* one document per line (or per blank-line block, see blocks) */
    BH_CORPUS_JSONL,    /* one JSON value per line; text/label/tags picked by field */
    BH_CORPUS_CSV,      /* RFC 4180; delimiter ',' or '\t'; a line break inside a quoted field
                           (LF or CRLF) is kept as one "\n" */
    BH_CORPUS_CONLL,    /* token<TAB|SPACE>...tag (the last column), blank line between sentences;
                           -DOCSTART- lines and, before a sentence, "# id ..." (MultiCoNER) and
                           "# key = value" lines are skipped */
    BH_CORPUS_CONLLU,   /* Universal Dependencies CoNLL-U; a comment line after word lines starts a new sentence */
    BH_CORPUS_SQUAD,    /* SQuAD v1.1 / v2.0 JSON: one record per question */
    BH_CORPUS_WIKI      /* MediaWiki XML export (pages-articles.xml[.gz]) */
} bh_corpus_format;

typedef enum bh_on_error { BH_ON_ERROR_STOP = 0, BH_ON_ERROR_SKIP = 1 } bh_on_error;

/* NER tag schemes. BH_TAGS_ASIS leaves tags as they are in the file. */
typedef enum bh_tag_scheme {
    BH_TAGS_ASIS = 0,
    BH_TAGS_IO,     /* I-X only */
    BH_TAGS_BIO,    /* IOB2: B-X starts every entity */
    BH_TAGS_IOBES,  /* B- I- E- S- */
    BH_TAGS_BILOU   /* B- I- L- U- (same as IOBES with other letters) */
} bh_tag_scheme;

/* Reader options. Zero-initialise, then set what you need; zero means default. */
typedef struct bh_corpus_options {
    bh_corpus_format format;
    bh_on_error on_error;
    int blocks;                 /* TEXT: 1 = documents are blocks separated by blank lines */
    char delimiter;             /* CSV: ',' or '\t'; 0 = '\t' for *.tsv*, else ',' */
    int no_header;              /* CSV: 1 = the first row is data (a bad one is a record problem), columns by index only */
    int no_quotes;              /* CSV: 1 = '"' is an ordinary character (TSV written without quoting) */
    const char *text_field;     /* CSV column (name or 0-based index; a name the header holds twice is BH_EINVAL) /
                                   JSONL key or array index; default "text". A JSON number reads as its shortest form
                                   ("2.3", "1.0"), true/false as "true"/"false" (label and id fields alike) */
    const char *text_field2;    /* CSV: optional second text column joined with " " (e.g. title + body) */
    const char *label_field;    /* CSV column / JSONL key holding the class label; NULL = none */
    const char *id_field;       /* CSV column / JSONL key holding an id; NULL = none */
    const char *tags_field;     /* JSONL: key/index of a tag array (NER); the text is then re-tokenised */
    bh_tag_scheme scheme;       /* CONLL/JSONL tags: convert to this scheme */
    const char *label_map;      /* "NEP=PER,NEL=LOC": rename entity types (tags keep their prefix) or labels */
    int wiki_all_namespaces;    /* WIKI: 1 = every namespace (default: main namespace 0 only) */
    int wiki_keep_redirects;    /* WIKI: 1 = keep redirect pages */
    int wiki_raw;               /* WIKI: 1 = raw wikitext, 0 = cleaned plain text */
    size_t max_record_bytes;    /* longest line or record accepted (a CSV record over several lines, a text
                                   block, a CoNLL/CoNLL-U sentence, a wiki page); 0 = 64 MiB */
} bh_corpus_options;

/* One CoNLL-U line. kind: 0 = word (ID n), 1 = multi-word token (ID n-m), 2 = empty node (ID n.m). */
typedef struct bh_conllu_row {
    const char *col[10]; /* ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC */
    int kind;
} bh_conllu_row;

typedef struct bh_squad_answer {
    const char *text;
    long start;  /* character (code point) offset into the context, as in the file */
} bh_squad_answer;

/* One record. Fields a format does not have are NULL / 0. */
typedef struct bh_corpus_record {
    long index;                 /* 0-based record number among the records returned */
    long line;                  /* 1-based line where the record starts (0 when unknown) */
    const char *id;             /* CSV/JSONL id column, SQuAD question id, wiki page id, CoNLL-U sent_id */
    const char *title;          /* SQuAD article title, wiki page title */
    const char *text;           /* document / sentence (tokens joined by spaces) / SQuAD context / page text */
    size_t text_len;
    const char *label;          /* class label (CSV/JSONL with label_field) */
    size_t n_tokens;            /* CoNLL, CoNLL-U (words only), JSONL with tags_field */
    const char *const *tokens;
    const char *const *tags;    /* CoNLL tags (converted), CoNLL-U UPOS */
    size_t n_rows;              /* CoNLL-U: every row, multi-word tokens and empty nodes included */
    const bh_conllu_row *rows;
    const char *question;       /* SQuAD */
    size_t n_answers;
    const bh_squad_answer *answers;
    int is_impossible;          /* SQuAD v2.0 unanswerable question */
} bh_corpus_record;

typedef struct bh_corpus bh_corpus;

/* Opens `path` ("-" = stdin) with options `opt` (NULL = all defaults).
 * Returns BH_EIO if the file cannot be opened, BH_EINVAL for bad options.
 * Not thread-safe per reader (see top). */
bh_status bh_corpus_open(const char *path, const bh_corpus_options *opt, bh_corpus **out);

/* Reads the next record into *rec. Returns 1 when a record was read, 0 at the
 * end of the input, a negative bh_status on failure (see "Errors" above). */
int bh_corpus_next(bh_corpus *r, bh_corpus_record *rec);

/* Number of bad records skipped so far (BH_ON_ERROR_SKIP). */
long bh_corpus_skipped(const bh_corpus *r);

/* The i-th recorded problem ("FILE:LINE: what"), i < min(skipped, 20); NULL otherwise. */
const char *bh_corpus_problem(const bh_corpus *r, long i);

/* Closes the file and frees the reader. Accepts NULL. */
void bh_corpus_free(bh_corpus *r);

/* Parses "text", "jsonl", "csv", "tsv" (CSV with a tab), "conll", "conllu",
 * "squad", "wiki" into *fmt (and *delim for csv/tsv, may be NULL). */
bh_status bh_corpus_format_parse(const char *name, bh_corpus_format *fmt, char *delim);

/* Parses "asis", "io", "bio" (or "iob2"), "iobes", "bilou". */
bh_status bh_tag_scheme_parse(const char *name, bh_tag_scheme *out);

/* Converts n NER tags to scheme `to`, writing NUL-terminated tags into `out`
 * (a caller-owned bh_buf, cleared first) with offs[i] = offset of tag i in
 * out->data. Input may be in any of IO, BIO, IOB1, IOBES, BILOU, mixed; a tag
 * without prefix other than "O" (e.g. "TIM") counts as I-TIM. Entity spans are
 * read the way conlleval reads chunks and re-emitted in the target scheme. The
 * label map (may be NULL) renames entity types first; a malformed tag such as
 * "-" or "-NEL" makes BH_EFORMAT with the tag's index in the detail. Reentrant. */
bh_status bh_tags_convert(const char *const *tags, size_t n, bh_tag_scheme to,
                          const char *label_map, bh_buf *out, size_t *offs);

/* Converts MediaWiki markup s[0..n) to plain text in out (cleared first): drops
 * templates {{...}}, tables {|...|}, <ref> and other non-prose tags, comments,
 * File:/Category:/interlanguage links, magic words; keeps link labels
 * ([[A|b]] → b), external-link labels, heading text and list items; decodes HTML
 * entities; collapses spaces; paragraphs separated by one blank line. Reentrant. */
bh_status bh_wikitext_clean(const char *s, size_t n, bh_buf *out);

/* Corpus statistics accumulated record by record (documents, sentences,
 * tokens, characters by script, label distribution). */
typedef struct bh_corpus_stats bh_corpus_stats;

/* Allocates an empty accumulator. */
bh_status bh_corpus_stats_new(bh_corpus_stats **out);
/* Adds one record: counts 1 document, its sentences (CoNLL/CoNLL-U/SQuAD records are
 * one sentence/question each; text is split at . ? ! । ॥ and newlines), its whitespace
 * tokens (or rec->tokens), its characters by Unicode script, and its label or tags. */
bh_status bh_corpus_stats_add(bh_corpus_stats *s, const bh_corpus_record *rec);
/* Writes the statistics as one JSON object into out (appended). A label or tag that
 * is not valid UTF-8 is written with each invalid byte as \xHH. */
bh_status bh_corpus_stats_json(const bh_corpus_stats *s, bh_buf *out);
void bh_corpus_stats_free(bh_corpus_stats *s);

#ifdef __cplusplus
}
#endif
#endif
