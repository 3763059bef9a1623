// The model file parser (docs/rd-model-format.md), the content hash and RdModel's accessors.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "pdeimg/error.hpp"
#include "pdeimg/reaction_diffusion.hpp"
#include "src/reaction_diffusion_model.hpp"

// The built-in model: the bytes of models/default.rdm, embedded at build time
// (cmake/embed_file.cmake).
extern "C" const unsigned char pdeimg_rd_default_model[];
extern "C" const std::size_t pdeimg_rd_default_model_size;

namespace pdeimg {
namespace detail {

void RdNetwork::finish() {
  flo = static_cast<float>(lo);
  inv_h = static_cast<float>((knots - 1) / (hi - lo));
  s_max = static_cast<float>(knots - 1);
  const int mm = size * size;
  const std::size_t nf = static_cast<std::size_t>(stages) * filters;
  taps_flipped.resize(taps.size());
  sums.assign(nf, 0.0f);
  zero_mean = true;
  for (std::size_t f = 0; f < nf; ++f) {
    double sum = 0.0, abs_sum = 0.0;
    for (int j = 0; j < mm; ++j) {
      sum += taps[f * mm + j];
      abs_sum += std::fabs(static_cast<double>(taps[f * mm + j]));
    }
    if (std::fabs(sum) > 1e-6 * abs_sum) {
      sums[f] = static_cast<float>(sum);
      zero_mean = false;
    }
  }
  slopes.resize(nf * (knots - 1));
  for (std::size_t f = 0; f < nf; ++f) {
    for (int j = 0; j < mm; ++j) taps_flipped[f * mm + j] = taps[f * mm + (mm - 1 - j)];
    for (int j = 0; j + 1 < knots; ++j) {
      slopes[f * (knots - 1) + j] = values[f * knots + j + 1] - values[f * knots + j];
    }
  }
  values64.clear();
  slopes64.clear();
  if (knots <= kRdTableSize) {
    values64.resize(nf * kRdTableSize);
    slopes64.resize(nf * kRdTableSize);
    for (std::size_t f = 0; f < nf; ++f) {
      for (int j = 0; j < kRdTableSize; ++j) {
        values64[f * kRdTableSize + j] = values[f * knots + (j < knots ? j : knots - 1)];
        slopes64[f * kRdTableSize + j] = slopes[f * (knots - 1) + (j < knots - 1 ? j : knots - 2)];
      }
    }
  }
}

namespace {

std::string fnv1a64(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

struct Token {
  std::string text;
  int line = 0;
};

/// Splits the text into white-space separated tokens, dropping `#` comments, with line numbers.
std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '#') {
      while (i < n && text[i] != '\n') ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else {
      const std::size_t start = i;
      while (i < n && text[i] != '#' && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      out.push_back(Token{text.substr(start, i - start), line});
    }
  }
  return out;
}

/// The token for a message: at most 40 bytes, control bytes (a binary file's) written as \xNN.
std::string quoted(const std::string& s) {
  std::string t;
  for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      t += buf;
    } else {
      t += s[i];
    }
  }
  if (s.size() > 40) t += "...";
  return "'" + t + "'";
}

/// The library computes in float32: a value finite as a double may not be finite as a float.
bool finite_float(double v) {
  return std::isfinite(static_cast<float>(v));
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& source)
      : tokens_(tokenize(text)), source_(source) {
    last_line_ = 1;
    for (char c : text) last_line_ += c == '\n';
    if (!text.empty() && text.back() == '\n') --last_line_;
  }

  RdModelData parse() {
    RdModelData m;
    m.source = source_;
    expect_word("pdeimg-rd", "the magic 'pdeimg-rd' that starts a model file");
    {
      const Token& t = next("the format version 1");
      if (t.text != "1")
        fail(t.line, "unsupported format version " + quoted(t.text) + ", expected 1");
    }
    bool have_name = false, have_noise = false;
    int name_line = 0, noise_line = 0;
    int role_line[3] = {0, 0, 0};
    std::shared_ptr<const RdNetwork>* slots[3] = {&m.gray, &m.luma, &m.chroma};
    for (;;) {
      const Token& t = next(have_name && have_noise ? "'network' or 'end'"
                                                    : "'name', 'noise', 'network' or 'end'");
      if (t.text == "end") break;
      if (t.text == "name") {
        if (have_name)
          fail(t.line, "'name' given twice (first at line " + std::to_string(name_line) + ")");
        const Token& v = next("the model's name");
        check_name(v);
        m.name = v.text;
        have_name = true;
        name_line = t.line;
      } else if (t.text == "noise") {
        if (have_noise)
          fail(t.line, "'noise' given twice (first at line " + std::to_string(noise_line) + ")");
        const Token& v = next("the noise deviation");
        m.noise = number(v, "noise");
        if (!(m.noise > 0.0)) fail(v.line, "noise must be > 0, found " + quoted(v.text));
        have_noise = true;
        noise_line = t.line;
      } else if (t.text == "network") {
        if (!have_name || !have_noise) {
          fail(t.line, std::string("expected '") + (have_name ? "noise" : "name") +
                           "' before the first network, found 'network'");
        }
        const Token& r = next("a network role (gray, luma or chroma)");
        const int role = role_index(r);
        if (role_line[role] != 0) {
          fail(r.line, "network " + quoted(r.text) + " is defined twice (first at line " +
                           std::to_string(role_line[role]) + ")");
        }
        role_line[role] = r.line;
        if (peek() != nullptr && peek()->text == "=") {
          next("=");
          const Token& other = next("the role whose network this one reuses");
          const int o = role_index(other);
          if (!*slots[o]) {
            fail(other.line, "network " + r.text + " = " + other.text + ": no network " +
                                 quoted(other.text) + " is defined before this line");
          }
          *slots[role] = *slots[o];
        } else {
          *slots[role] = network();
        }
      } else {
        fail(t.line, "unknown key " + quoted(t.text) + ": expected " +
                         (have_name && have_noise ? "'network' or 'end'"
                                                  : "'name', 'noise', 'network' or 'end'"));
      }
    }
    if (pos_ < tokens_.size()) {
      fail(tokens_[pos_].line, "unexpected " + quoted(tokens_[pos_].text) +
                                   " after 'end' (only white space and comments may follow)");
    }
    const int end_line = tokens_[pos_ - 1].line;
    if (!have_name) fail(end_line, "the model has no 'name'");
    if (!have_noise) fail(end_line, "the model has no 'noise'");
    if (!m.gray && !m.luma && !m.chroma) fail(end_line, "the model defines no network");
    return m;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw Error(ErrorCode::kInvalidArgument, source_ + ":" + std::to_string(line) + ": " + what);
  }

  const Token* peek() const { return pos_ < tokens_.size() ? &tokens_[pos_] : nullptr; }

  const Token& next(const std::string& expected) {
    if (pos_ >= tokens_.size()) {
      fail(last_line_, "unexpected end of file: expected " + expected +
                           (pos_ == 0 ? std::string() : " (the file may be truncated)"));
    }
    return tokens_[pos_++];
  }

  void expect_word(const char* word, const std::string& what) {
    const Token& t = next(what);
    if (t.text != word) fail(t.line, "expected " + what + ", found " + quoted(t.text));
  }

  static bool parse_number(const std::string& s, double& v) {
    if (s.empty()) return false;
    const char c = s[0];
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' ||
          c == 'i' || c == 'I' || c == 'n' || c == 'N')) {
      return false;
    }
    char* end = nullptr;
    errno = 0;
    v = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size() && end != s.c_str();
  }

  double number(const Token& t, const std::string& what) {
    double v = 0.0;
    if (!parse_number(t.text, v))
      fail(t.line, "expected a number for " + what + ", found " + quoted(t.text));
    if (!finite_float(v)) {
      fail(t.line,
           what + " must be finite in float32 (magnitude below 3.4e38), found " + quoted(t.text));
    }
    return v;
  }

  int integer(const Token& t, const std::string& what, int lo, int hi) {
    bool digits = !t.text.empty() && t.text.size() <= 9;
    for (char c : t.text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) fail(t.line, "expected an integer for " + what + ", found " + quoted(t.text));
    const int v = std::atoi(t.text.c_str());
    if (v < lo || v > hi) {
      fail(t.line, what + " must lie in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "], found " + t.text);
    }
    return v;
  }

  void check_name(const Token& v) {
    bool ok = !v.text.empty() && v.text.size() <= 64;
    for (char c : v.text) {
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
    }
    if (!ok)
      fail(v.line,
           "the name must be 1 to 64 characters of [A-Za-z0-9._-], found " + quoted(v.text));
  }

  int role_index(const Token& r) {
    if (r.text == "gray") return 0;
    if (r.text == "luma") return 1;
    if (r.text == "chroma") return 2;
    fail(r.line, "unknown network role " + quoted(r.text) + ": expected gray, luma or chroma");
  }

  /// A key followed by one value token.
  const Token& keyed(const char* key) {
    expect_word(key, std::string("'") + key + "'");
    return next(std::string("the value of '") + key + "'");
  }

  /// Reads numbers following a keyword (until the next non-number token) and checks the count.
  void numbers(const Token& key, const char* what, std::size_t count, std::vector<float>& out,
               const std::string& where) {
    std::size_t found = 0;
    for (;;) {
      const Token* t = peek();
      double v = 0.0;
      if (t == nullptr || !parse_number(t->text, v)) break;
      if (!finite_float(v)) {
        fail(t->line, std::string(what) + " " + std::to_string(found + 1) + " of " + where +
                          " must be finite in float32 (magnitude below 3.4e38), found " +
                          quoted(t->text));
      }
      if (found < count) out.push_back(static_cast<float>(v));
      ++found;
      ++pos_;
    }
    if (found != count) {
      const Token* t = peek();
      fail(found > count || t == nullptr ? key.line : t->line,
           "expected " + std::to_string(count) + " " + what + "s of " + where + ", found " +
               std::to_string(found) +
               (found < count
                    ? (t ? " (then " + quoted(t->text) + ")" : " (then the end of the file)")
                    : std::string()));
    }
  }

  std::shared_ptr<const RdNetwork> network() {
    auto n = std::make_shared<RdNetwork>();
    n->stages = integer(keyed("stages"), "stages", 1, 64);
    n->filters = integer(keyed("filters"), "filters", 1, 256);
    {
      const Token& t = keyed("size");
      n->size = integer(t, "size", 1, 15);
      if (n->size % 2 == 0) fail(t.line, "size must be odd, found " + t.text);
    }
    {
      expect_word("knots", "'knots'");
      n->knots = integer(next("the number of knots"), "knots", 2, 65536);
      const Token& lo = next("the first knot");
      n->lo = number(lo, "the first knot");
      const Token& hi = next("the last knot");
      n->hi = number(hi, "the last knot");
      if (!(n->lo < n->hi))
        fail(hi.line,
             "knots: the first knot must be below the last, found " + lo.text + " and " + hi.text);
      if (!finite_float((n->knots - 1) / (n->hi - n->lo)) ||
          !(static_cast<float>(n->lo) < static_cast<float>(n->hi)))
        fail(hi.line, "knots: the knot spacing is too small");
    }
    const int mm = n->size * n->size;
    n->lambda.reserve(n->stages);
    n->taps.reserve(static_cast<std::size_t>(n->stages) * n->filters * mm);
    n->values.reserve(static_cast<std::size_t>(n->stages) * n->filters * n->knots);
    for (int t = 0; t < n->stages; ++t) {
      const std::string st = "stage " + std::to_string(t + 1);
      expect_word("stage", "'stage' (" + st + " of " + std::to_string(n->stages) + ")");
      const Token& l = keyed("lambda");
      const double lam = number(l, "lambda");
      if (lam < 0.0) fail(l.line, "lambda must be >= 0, found " + l.text);
      n->lambda.push_back(static_cast<float>(lam));
      for (int i = 0; i < n->filters; ++i) {
        const std::string where = "filter " + std::to_string(i + 1) + " of " + st;
        const Token& fk = next("'filter' (" + where + " of " + std::to_string(n->filters) + ")");
        if (fk.text != "filter") {
          fail(fk.line, "expected 'filter' (" + where + ", " + std::to_string(n->filters) +
                            " per stage), found " + quoted(fk.text));
        }
        numbers(fk, "filter tap", static_cast<std::size_t>(mm), n->taps, where);
        const Token& pk = next("'phi' (" + where + ")");
        if (pk.text != "phi")
          fail(pk.line, "expected 'phi' (" + where + "), found " + quoted(pk.text));
        numbers(pk, "knot value", static_cast<std::size_t>(n->knots), n->values, where);
      }
    }
    n->finish();
    return n;
  }

  std::vector<Token> tokens_;
  std::string source_;
  std::size_t pos_ = 0;
  int last_line_ = 1;
};

}  // namespace
}  // namespace detail

RdModel RdModel::parse(const std::string& text, const std::string& source) {
  auto d = std::make_shared<detail::RdModelData>(detail::Parser(text, source).parse());
  d->hash = detail::fnv1a64(text);
  return RdModel(std::move(d));
}

RdModel RdModel::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::kIo,
                "cannot read the model file '" + path + "': " + std::strerror(errno));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(ErrorCode::kIo, "error reading the model file '" + path + "'");
  return parse(text, path);
}

const RdModel& RdModel::builtin() {
  static const RdModel model =
      parse(std::string(reinterpret_cast<const char*>(pdeimg_rd_default_model),
                        pdeimg_rd_default_model_size),
            "default.rdm (built in)");
  return model;
}

const std::string& RdModel::name() const noexcept {
  return data_->name;
}
const std::string& RdModel::hash() const noexcept {
  return data_->hash;
}
double RdModel::noise() const noexcept {
  return data_->noise;
}
bool RdModel::has_gray() const noexcept {
  return data_->gray != nullptr;
}
bool RdModel::has_colour() const noexcept {
  return data_->luma && data_->chroma;
}

namespace {
const detail::RdNetwork* main_network(const detail::RdModelData& d) {
  if (d.gray) return d.gray.get();
  if (d.luma) return d.luma.get();
  return d.chroma.get();
}
}  // namespace

int RdModel::stages() const noexcept {
  return main_network(*data_)->stages;
}
int RdModel::filters() const noexcept {
  return main_network(*data_)->filters;
}
int RdModel::filter_size() const noexcept {
  return main_network(*data_)->size;
}

}  // namespace pdeimg
