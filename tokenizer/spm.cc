// tokenizer/spm.cc — extern "C" wrapper over libsentencepiece (see spm.h).
// Every entry point catches all exceptions; SentencePiece statuses become
// bh_status codes whose detail is SentencePiece's own message.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zlib.h>

extern "C" {
#include "bhasha/normalize.h"
#include "core/error.h"
#include "tokenizer/spm.h"
#include "tokenizer/subword.h"
}

namespace spm = sentencepiece;

struct bh_spm {
    spm::SentencePieceProcessor sp;
    int32_t vocab = 0;
};

namespace {

bh_status from_status(const spm::util::Status &s, bh_status code, const char *what)
{
    return bh__fail(code, "%s: %s", what, s.message());
}

// Sets the detail for an exception caught at the C boundary; other than
// std::bad_alloc it is `code` (a loader passes BH_EFORMAT: SentencePiece
// throws while building its tries from some hostile models).
bh_status from_exception(const char *what, bh_status code = BH_EINTERNAL)
{
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return bh__fail(BH_ENOMEM, "%s: out of memory", what);
    } catch (const std::exception &e) {
        return bh__fail(code, "%s: %s", what, e.what());
    } catch (...) {
        return bh__fail(code, "%s: unknown C++ exception", what);
    }
}

bh_status read_whole(const char *path, std::string *out)
{
    FILE *f = std::fopen(path, "rb");
    if (!f) return bh__fail(BH_EIO, "%s: %s", path, std::strerror(errno));
    char chunk[1 << 16];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) out->append(chunk, n);
    int err = std::ferror(f);
    std::fclose(f);
    if (err) return bh__fail(BH_EIO, "%s: read error", path);
    return BH_OK;
}

// Walks the top level of a serialized ModelProto. SentencePiece writes fields
// in number order, pieces (1) first and normalizer_spec (3) after them, so a
// file cut short at a piece boundary still parses as a smaller model: requiring
// field 3 and a clean walk to the last byte catches truncation.
bool read_varint(const unsigned char *&p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p == end) return false;
        unsigned char b = *p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

bh_status check_wire(const std::string &bytes, const char *what)
{
    const unsigned char *p = (const unsigned char *)bytes.data(), *end = p + bytes.size();
    bool normalizer = false;
    while (p < end) {
        size_t at = (size_t)(p - (const unsigned char *)bytes.data());
        uint64_t tag, v;
        if (!read_varint(p, end, &tag)) return bh__fail(BH_EFORMAT, "%s: truncated or corrupt at byte %zu", what, at);
        uint64_t field = tag >> 3;
        switch (tag & 7) {
        case 0:
            if (!read_varint(p, end, &v)) return bh__fail(BH_EFORMAT, "%s: truncated at byte %zu", what, at);
            break;
        case 1:
            if (end - p < 8) return bh__fail(BH_EFORMAT, "%s: truncated at byte %zu", what, at);
            p += 8;
            break;
        case 5:
            if (end - p < 4) return bh__fail(BH_EFORMAT, "%s: truncated at byte %zu", what, at);
            p += 4;
            break;
        case 2:
            if (!read_varint(p, end, &v) || v > (uint64_t)(end - p))
                return bh__fail(BH_EFORMAT, "%s: truncated or corrupt at byte %zu", what, at);
            p += v;
            break;
        default:
            return bh__fail(BH_EFORMAT, "%s: not a SentencePiece model (bad field at byte %zu)", what, at);
        }
        if (field == 3) normalizer = true;
    }
    if (!normalizer) return bh__fail(BH_EFORMAT, "%s: truncated SentencePiece model (no normalizer_spec)", what);
    return BH_OK;
}

bh_status load_serialized(const std::string &bytes, const char *what, bh_spm **out)
{
    *out = nullptr;
    // A serialized ModelProto starts with field 1 (pieces, length-delimited):
    // tag byte 0x0A. Rejecting anything else early keeps obviously foreign
    // files (text, gzip, empty) away from the protobuf parser.
    if (bytes.empty()) return bh__fail(BH_EFORMAT, "%s: empty file, not a SentencePiece model", what);
    if ((unsigned char)bytes[0] != 0x0A)
        return bh__fail(BH_EFORMAT, "%s: not a SentencePiece model (first byte 0x%02x)", what,
                        (unsigned char)bytes[0]);
    bh_status st = check_wire(bytes, what);
    if (st) return st;
    // Owned until returned: SentencePiece may throw while building its tries
    // from a hostile model, and the caller's catch must not leak the half-built one.
    std::unique_ptr<bh_spm> m(new bh_spm);
    spm::util::Status s = m->sp.LoadFromSerializedProto(bytes);
    if (!s.ok()) return from_status(s, BH_EFORMAT, what);
    m->vocab = m->sp.GetPieceSize();
    if (m->vocab <= 0) return bh__fail(BH_EFORMAT, "%s: model has no pieces", what);
    *out = m.release();
    return BH_OK;
}

bh_status check_text(const bh_spm *m, const char *text, size_t len, bh_tokens *out, const char *fn)
{
    if (!m || !out || (!text && len)) return bh__fail(BH_EINVAL, "%s: NULL argument", fn);
    if (len > BH_SPM_MAX_INPUT)
        return bh__fail(BH_ELIMIT, "%s: text of %zu bytes exceeds the %zu-byte limit", fn, len,
                        (size_t)BH_SPM_MAX_INPUT);
    return BH_OK;
}

bh_status copy_ids(const std::vector<int> &ids, bh_tokens *out)
{
    bh_status st = bh__tokens_reserve(out, ids.size());
    if (st) return st;
    for (size_t i = 0; i < ids.size(); i++) out->ids[i] = ids[i];
    out->n = ids.size();
    return BH_OK;
}

bh_status copy_spt(spm::ImmutableSentencePieceText &spt, size_t len, bh_tokens *out)
{
    size_t n = spt.pieces_size();
    bh_status st = bh__tokens_reserve(out, n);
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        auto p = spt.pieces((int)i);
        size_t b = p.begin(), e = p.end();
        // SentencePiece offsets are into the original input; clamp defensively.
        if (e > len) e = len;
        if (b > e) b = e;
        out->ids[i] = (int32_t)p.id();
        out->begin[i] = b;
        out->end[i] = e;
    }
    out->n = n;
    return BH_OK;
}

bh_status encode_one(const bh_spm *m, const char *text, size_t len, int with_offsets, bh_tokens *out)
{
    std::string_view in(text ? text : "", len);
    if (with_offsets) {
        spm::ImmutableSentencePieceText spt;
        spm::util::Status s = m->sp.Encode(in, spt.mutable_proto());
        if (!s.ok()) return from_status(s, BH_EFORMAT, "bh_spm_encode");
        return copy_spt(spt, len, out);
    }
    std::vector<int> ids;
    spm::util::Status s = m->sp.Encode(in, &ids);
    if (!s.ok()) return from_status(s, BH_EFORMAT, "bh_spm_encode");
    return copy_ids(ids, out);
}

// Reads lines from plain or gzip files (zlib reads both), optionally through
// bh_normalize, for SentencePieceTrainer.
class FileLines : public spm::SentenceIterator {
  public:
    FileLines(const char *const *paths, size_t n, int normalize)
        : paths_(paths, paths + n), normalize_(normalize) { Next(); }
    ~FileLines() override
    {
        if (gz_) gzclose(gz_);
        bh_buf_free(&norm_);
    }
    bool done() const override { return done_; }
    const std::string &value() const override { return value_; }
    spm::util::Status status() const override { return status_; }
    void Next() override
    {
        while (!done_) {
            if (!gz_ && !open_next()) return;
            std::string line;
            if (!read_line(&line)) {
                gzclose(gz_);
                gz_ = nullptr;
                continue;
            }
            if (line.empty()) continue;
            if (normalize_) {
                bh_buf_clear(&norm_);
                if (bh_normalize(line.data(), line.size(), nullptr, &norm_, nullptr) != BH_OK) {
                    fail(std::string("normalizer: ") + bh_last_error());
                    return;
                }
                value_.assign(norm_.data ? norm_.data : "", norm_.len);
            } else {
                value_.swap(line);
            }
            return;
        }
    }
    const std::string &error() const { return error_; }

  private:
    void fail(const std::string &msg)
    {
        error_ = msg;
        status_ = spm::util::Status(spm::util::StatusCode::kInternal, msg);
        done_ = true;
    }
    bool open_next()
    {
        if (next_ >= paths_.size()) {
            done_ = true;
            return false;
        }
        const char *p = paths_[next_++];
        gz_ = gzopen(p, "rb");
        if (!gz_) {
            fail(std::string(p) + ": " + std::strerror(errno ? errno : ENOENT));
            return false;
        }
        gzbuffer(gz_, 1 << 17);
        cur_ = p;
        pos_ = fill_ = 0;
        return true;
    }
    // One line without its "\n"; false at end of file.
    bool read_line(std::string *line)
    {
        bool any = false;
        for (;;) {
            if (pos_ == fill_) {
                int got = gzread(gz_, buf_, sizeof buf_);
                if (got < 0) {
                    int errnum;
                    fail(std::string(cur_) + ": " + gzerror(gz_, &errnum));
                    return false;
                }
                if (got == 0) return any;
                pos_ = 0;
                fill_ = (size_t)got;
            }
            any = true;
            const char *s = buf_ + pos_;
            const char *nl = static_cast<const char *>(std::memchr(s, '\n', fill_ - pos_));
            if (nl) {
                line->append(s, nl - s);
                pos_ += (size_t)(nl - s) + 1;
                return true;
            }
            line->append(s, fill_ - pos_);
            pos_ = fill_;
        }
    }

    std::vector<const char *> paths_;
    size_t next_ = 0;
    int normalize_;
    gzFile gz_ = nullptr;
    const char *cur_ = "";
    char buf_[1 << 16];
    size_t pos_ = 0, fill_ = 0;
    bool done_ = false;
    std::string value_, error_;
    spm::util::Status status_;
    bh_buf norm_ = {nullptr, 0, 0};
};

}  // namespace

extern "C" {

bh_status bh_spm_load(const char *path, bh_spm **out)
{
    if (!path || !out) return bh__fail(BH_EINVAL, "bh_spm_load: NULL argument");
    *out = nullptr;
    try {
        std::string bytes;
        bh_status st = read_whole(path, &bytes);
        if (st) return st;
        return load_serialized(bytes, path, out);
    } catch (...) {
        return from_exception(path, BH_EFORMAT);
    }
}

bh_status bh_spm_load_bytes(const void *data, size_t len, bh_spm **out)
{
    if (!out || (!data && len)) return bh__fail(BH_EINVAL, "bh_spm_load_bytes: NULL argument");
    *out = nullptr;
    try {
        std::string bytes(static_cast<const char *>(data), len);
        return load_serialized(bytes, "bh_spm_load_bytes", out);
    } catch (...) {
        return from_exception("bh_spm_load_bytes", BH_EFORMAT);
    }
}

void bh_spm_free(bh_spm *m) { delete m; }

int32_t bh_spm_vocab_size(const bh_spm *m) { return m ? m->vocab : 0; }

bh_status bh_spm_id_to_piece(const bh_spm *m, int32_t id, const char **piece, size_t *len)
{
    if (!m || !piece || !len) return bh__fail(BH_EINVAL, "bh_spm_id_to_piece: NULL argument");
    if (id < 0 || id >= m->vocab)
        return bh__fail(BH_EINVAL, "bh_spm_id_to_piece: id %d outside [0, %d)", (int)id, (int)m->vocab);
    try {
        const std::string &p = m->sp.IdToPiece(id);
        *piece = p.data();
        *len = p.size();
        return BH_OK;
    } catch (...) {
        return from_exception("bh_spm_id_to_piece");
    }
}

int32_t bh_spm_piece_to_id(const bh_spm *m, const char *piece, size_t len)
{
    if (!m || (!piece && len)) return -1;
    try {
        return m->sp.PieceToId(std::string_view(piece ? piece : "", len));
    } catch (...) {
        return -1;
    }
}

int bh__spm_has_piece(const bh_spm *m, const char *piece, size_t len)
{
    int32_t id = bh_spm_piece_to_id(m, piece, len);
    if (id < 0) return 0;
    const char *p;
    size_t n;
    if (bh_spm_id_to_piece(m, id, &p, &n)) return 0;
    return n == len && (len == 0 || std::memcmp(p, piece, len) == 0);
}

int32_t bh_spm_special_id(const bh_spm *m, bh_spm_special which)
{
    if (!m) return -1;
    int id = -1;
    switch (which) {
    case BH_SPM_UNK: id = m->sp.unk_id(); break;
    case BH_SPM_BOS: id = m->sp.bos_id(); break;
    case BH_SPM_EOS: id = m->sp.eos_id(); break;
    case BH_SPM_PAD: id = m->sp.pad_id(); break;
    }
    return (id >= 0 && id < m->vocab) ? id : -1;
}

bh_status bh_spm_encode(const bh_spm *m, const char *text, size_t len, bh_tokens *out)
{
    bh_status st = check_text(m, text, len, out, "bh_spm_encode");
    if (st) return st;
    out->n = 0;
    try {
        return encode_one(m, text, len, 1, out);
    } catch (...) {
        return from_exception("bh_spm_encode");
    }
}

bh_status bh_spm_encode_ids(const bh_spm *m, const char *text, size_t len, bh_tokens *out)
{
    bh_status st = check_text(m, text, len, out, "bh_spm_encode_ids");
    if (st) return st;
    out->n = 0;
    try {
        return encode_one(m, text, len, 0, out);
    } catch (...) {
        return from_exception("bh_spm_encode_ids");
    }
}

bh_status bh_spm_encode_pieces(const bh_spm *m, const char *text, size_t len, bh_buf *out)
{
    if (!m || !out || (!text && len)) return bh__fail(BH_EINVAL, "bh_spm_encode_pieces: NULL argument");
    if (len > BH_SPM_MAX_INPUT)
        return bh__fail(BH_ELIMIT, "bh_spm_encode_pieces: text of %zu bytes exceeds the limit", len);
    try {
        std::vector<std::string> pieces;
        spm::util::Status s = m->sp.Encode(std::string_view(text ? text : "", len), &pieces);
        if (!s.ok()) return from_status(s, BH_EFORMAT, "bh_spm_encode_pieces");
        for (size_t i = 0; i < pieces.size(); i++) {
            bh_status st = BH_OK;
            if (i) st = bh_buf_append(out, " ", 1);
            if (!st) st = bh_buf_append(out, pieces[i].data(), pieces[i].size());
            if (st) return st;
        }
        return BH_OK;
    } catch (...) {
        return from_exception("bh_spm_encode_pieces");
    }
}

bh_status bh_spm_sample(const bh_spm *m, const char *text, size_t len, int nbest_size, float alpha,
                        bh_tokens *out)
{
    bh_status st = check_text(m, text, len, out, "bh_spm_sample");
    if (st) return st;
    if (!(alpha >= 0.0f && alpha <= 1.0f) && nbest_size != 0 && nbest_size != 1)
        return bh__fail(BH_EINVAL, "bh_spm_sample: alpha %g outside [0, 1]", (double)alpha);
    out->n = 0;
    try {
        spm::ImmutableSentencePieceText spt;
        spm::util::Status s = m->sp.SampleEncode(std::string_view(text ? text : "", len), nbest_size,
                                                 alpha, spt.mutable_proto());
        if (!s.ok()) return from_status(s, BH_EINVAL, "bh_spm_sample");
        return copy_spt(spt, len, out);
    } catch (...) {
        return from_exception("bh_spm_sample");
    }
}

bh_status bh_spm_decode(const bh_spm *m, const int32_t *ids, size_t n, bh_buf *out)
{
    if (!m || !out || (!ids && n)) return bh__fail(BH_EINVAL, "bh_spm_decode: NULL argument");
    // SentencePiece does not range-check ids on decode: do it here.
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->vocab)
            return bh__fail(BH_EINVAL, "bh_spm_decode: id %d at position %zu outside [0, %d)",
                            (int)ids[i], i, (int)m->vocab);
    try {
        std::vector<int> v(ids, ids + n);
        std::string text;
        spm::util::Status s = m->sp.Decode(v, &text);
        if (!s.ok()) return from_status(s, BH_EINVAL, "bh_spm_decode");
        return bh_buf_append(out, text.data(), text.size());
    } catch (...) {
        return from_exception("bh_spm_decode");
    }
}

bh_status bh_spm_encode_batch(const bh_spm *m, const char *const *texts, const size_t *lens, size_t n,
                              int nthreads, int with_offsets, bh_tokens *outs)
{
    if (!m || (n && (!texts || !lens || !outs)))
        return bh__fail(BH_EINVAL, "bh_spm_encode_batch: NULL argument");
    for (size_t i = 0; i < n; i++) {
        bh_status st = check_text(m, texts[i], lens[i], &outs[i], "bh_spm_encode_batch");
        if (st) return st;
    }
    // At most 64 threads (as bh_tokenizer_encode_batch): a huge count would
    // only spend time and memory creating threads.
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 64) nthreads = 64;
    if ((size_t)nthreads > n) nthreads = n ? (int)n : 1;
    // Chunk c of 16 texts goes to worker c % nthreads: a fixed owner per
    // index, so when a caller reuses outs[] across calls each ids array is
    // grown and freed by the thread (and malloc arena) that allocated it;
    // freeing into another thread's arena takes that arena's lock and was
    // the largest cost of running two threads. Each worker records its first
    // failure with the index so the lowest failing text wins.
    struct Fail {
        size_t at = SIZE_MAX;
        bh_status st = BH_OK;
        char msg[512] = {0};
    };
    std::vector<Fail> fails;
    std::vector<std::thread> pool;
    try {
        fails.resize((size_t)nthreads);
        pool.reserve((size_t)nthreads - 1);
    } catch (...) {
        return from_exception("bh_spm_encode_batch");
    }
    auto work = [&](int w) {
        const size_t chunk = 16;
        for (size_t b = (size_t)w * chunk; b < n; b += (size_t)nthreads * chunk) {
            size_t e = b + chunk < n ? b + chunk : n;
            for (size_t i = b; i < e; i++) {
                outs[i].n = 0;
                bh_status st;
                try {
                    st = encode_one(m, texts[i], lens[i], with_offsets, &outs[i]);
                } catch (...) {
                    st = from_exception("bh_spm_encode_batch");
                }
                if (st && i < fails[w].at) {
                    fails[w].at = i;
                    fails[w].st = st;
                    std::snprintf(fails[w].msg, sizeof fails[w].msg, "text %zu: %s", i, bh_last_error());
                }
            }
        }
    };
    // A thread that cannot be created (std::system_error) must not unwind past
    // the running ones (destroying a joinable std::thread terminates): the
    // calling thread does the share of every worker that did not start.
    int started = 1;
    try {
        for (; started < nthreads; started++) pool.emplace_back(work, started);
    } catch (...) {
        // the workers from `started` on run below, on this thread
    }
    for (int w = started; w < nthreads; w++) work(w);
    work(0);
    for (auto &t : pool) t.join();
    const Fail *first = nullptr;
    for (const Fail &f : fails)
        if (f.st && (!first || f.at < first->at)) first = &f;
    if (first) return bh__fail(first->st, "bh_spm_encode_batch: %s", first->msg);
    return BH_OK;
}

void bh_spm_train_options_default(bh_spm_train_options *opt)
{
    if (!opt) return;
    std::memset(opt, 0, sizeof *opt);
    opt->vocab_size = 8000;
    opt->model_type = "unigram";
    opt->character_coverage = 0.9995;
    opt->normalization = "identity";
    opt->max_sentence_length = 16384;
    opt->num_threads = 1;
    opt->pad_id = -1;
}

bh_status bh_spm_train(const bh_spm_train_options *opt)
{
    if (!opt || !opt->model_prefix || !opt->n_inputs || !opt->inputs)
        return bh__fail(BH_EINVAL, "bh_spm_train: need inputs and a model prefix");
    for (size_t i = 0; i < opt->n_inputs; i++)
        if (!opt->inputs[i]) return bh__fail(BH_EINVAL, "bh_spm_train: NULL input path");
    if (opt->vocab_size < 8 || opt->vocab_size > 1000000)
        return bh__fail(BH_EINVAL, "bh_spm_train: vocab size %d outside [8, 1000000]", opt->vocab_size);
    if (!(opt->character_coverage > 0.0 && opt->character_coverage <= 1.0))
        return bh__fail(BH_EINVAL, "bh_spm_train: character coverage %g outside (0, 1]",
                        opt->character_coverage);
    const char *type = opt->model_type ? opt->model_type : "unigram";
    if (std::strcmp(type, "unigram") && std::strcmp(type, "bpe") && std::strcmp(type, "char") &&
        std::strcmp(type, "word"))
        return bh__fail(BH_EINVAL, "bh_spm_train: unknown model type '%s'", type);
    if (opt->num_threads < 1 || opt->num_threads > 256 || opt->max_sentence_length < 0 ||
        opt->input_sentence_size < 0 || opt->pad_id < -1 || opt->pad_id > 3 + opt->vocab_size)
        return bh__fail(BH_EINVAL, "bh_spm_train: option out of range");
    try {
        std::unordered_map<std::string, std::string> kw;
        kw["model_prefix"] = opt->model_prefix;
        kw["vocab_size"] = std::to_string(opt->vocab_size);
        kw["model_type"] = type;
        kw["character_coverage"] = std::to_string(opt->character_coverage);
        kw["normalization_rule_name"] = opt->normalization ? opt->normalization : "identity";
        kw["num_threads"] = std::to_string(opt->num_threads);
        if (opt->max_sentence_length > 0) kw["max_sentence_length"] = std::to_string(opt->max_sentence_length);
        if (opt->input_sentence_size > 0) {
            kw["input_sentence_size"] = std::to_string(opt->input_sentence_size);
            kw["shuffle_input_sentence"] = "true";
        }
        kw["pad_id"] = std::to_string(opt->pad_id);
        if (opt->user_defined_symbols && *opt->user_defined_symbols)
            kw["user_defined_symbols"] = opt->user_defined_symbols;
        kw["minloglevel"] = opt->verbose ? "0" : "2";
        FileLines lines(opt->inputs, opt->n_inputs, opt->bhasha_normalize);
        if (!lines.error().empty()) return bh__fail(BH_EIO, "bh_spm_train: %s", lines.error().c_str());
        spm::util::Status s = spm::SentencePieceTrainer::Train(kw, &lines);
        if (!lines.error().empty()) return bh__fail(BH_EIO, "bh_spm_train: %s", lines.error().c_str());
        if (!s.ok()) return from_status(s, BH_EINVAL, "bh_spm_train");
        return BH_OK;
    } catch (...) {
        return from_exception("bh_spm_train");
    }
}

}  // extern "C"
