// TfIdfVectorizer (9): counts the n-grams of a pool (pool_int64s or pool_strings) in each row
// of a [C] or [N, C] input, n from min_gram_length to max_gram_length, with the items of an
// n-gram up to max_skip_count apart, and writes the counts (TF), their presence (IDF) or the
// counts scaled (TFIDF) at the output columns ngram_indexes names. weights[i] belongs to the
// i-th n-gram of the pool, so it scales output column ngram_indexes[i] (as the spec says and
// onnxruntime does); IDF/TFIDF without weights give presence/counts.
//
// The pool is loaded once into a trie: the path of an n-gram's items leads to its id (0: a
// prefix of a longer n-gram only). Counting walks the trie from every start position for each
// skip distance; unigrams are counted once, not once per skip distance.
#include <algorithm>
#include <memory>
#include <type_traits>
#include <string>
#include <unordered_map>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/text/text.h"

namespace ferry::ep::cpu {
namespace {

enum class Weighting { kTF, kIDF, kTFIDF };

struct TfIdfAttributes {
  Weighting mode;                      // "mode": required, TF / IDF / TFIDF
  int64_t min_gram_length;             // required
  int64_t max_gram_length;             // required
  int64_t max_skip_count;              // required
  std::vector<int64_t> ngram_counts;   // required: start of each n-gram size's items in the pool
  std::vector<int64_t> ngram_indexes;  // required: output column of each n-gram
  std::vector<float> weights;          // "weights": none
  std::vector<int64_t> pool_int64s;    // one of the two pools
  std::vector<std::string> pool_strings;

  explicit TfIdfAttributes(const KernelInfo& info) {
    const ir::Node& n = info.node();
    for (const char* name : {"mode", "min_gram_length", "max_gram_length", "max_skip_count", "ngram_counts",
                             "ngram_indexes"})
      if (!n.find_attribute(name)) fail_model(info, std::string("missing required attribute '") + name + "'");
    const std::string m = n.get_string("mode", "");
    if (m == "TF") mode = Weighting::kTF;
    else if (m == "IDF") mode = Weighting::kIDF;
    else if (m == "TFIDF") mode = Weighting::kTFIDF;
    else fail_model(info, "attribute 'mode' is '" + m + "' (valid: TF, IDF, TFIDF)");
    min_gram_length = n.get_int("min_gram_length", 0);
    max_gram_length = n.get_int("max_gram_length", 0);
    max_skip_count = n.get_int("max_skip_count", 0);
    ngram_counts = n.get_ints("ngram_counts");
    ngram_indexes = n.get_ints("ngram_indexes");
    weights = n.get_floats("weights");
    pool_int64s = n.get_ints("pool_int64s");
    pool_strings = n.get_strings("pool_strings");
    if (min_gram_length < 1 || max_gram_length < min_gram_length)
      fail_model(info, "attributes 'min_gram_length' " + std::to_string(min_gram_length) + " and 'max_gram_length' " +
                           std::to_string(max_gram_length) + " must satisfy 1 <= min <= max");
    if (max_skip_count < 0)
      fail_model(info, "attribute 'max_skip_count' is " + std::to_string(max_skip_count) + ", must be >= 0");
    if (!pool_int64s.empty() && !pool_strings.empty())
      fail_model(info, "only one of the attributes 'pool_int64s' and 'pool_strings' may be set");
    if (ngram_indexes.empty()) fail_model(info, "attribute 'ngram_indexes' is empty");
    const auto max_columns = static_cast<int64_t>(Tensor::max_allocation_bytes() / sizeof(float));
    for (int64_t i : ngram_indexes)
      if (i < 0 || i >= max_columns)
        fail_model(info, "attribute 'ngram_indexes' holds " + std::to_string(i) + ", valid: [0, " +
                             std::to_string(max_columns) + ") (output columns must fit one allocation)");
  }

  int64_t output_size() const { return *std::max_element(ngram_indexes.begin(), ngram_indexes.end()) + 1; }
};

/// The pool's n-grams as a trie over item keys (int64 or string).
template <typename Key>
struct NgramTrie {
  struct Node {
    int64_t id = 0;  ///< 1-based n-gram id; 0 when no n-gram ends here
    std::unordered_map<Key, int32_t> children;
  };
  std::vector<Node> nodes{1};  ///< nodes[0] is the root

  /// Loads the pool; n-gram ids count every n-gram of the pool in order, also those of sizes
  /// outside [min, max], which are not loaded. Returns the number of n-grams.
  int64_t load(const KernelInfo& info, const TfIdfAttributes& a, const std::vector<Key>& pool) {
    const auto total = static_cast<int64_t>(pool.size());
    int64_t id = 1;
    for (size_t i = 0; i < a.ngram_counts.size(); ++i) {
      const int64_t size = static_cast<int64_t>(i) + 1;
      const int64_t begin = a.ngram_counts[i];
      const int64_t end = i + 1 < a.ngram_counts.size() ? a.ngram_counts[i + 1] : total;
      if (begin < 0 || begin > end || end > total)
        fail_model(info, "attribute 'ngram_counts' " + shape_to_string(a.ngram_counts) +
                             " does not split a pool of " + std::to_string(total) + " items into ranges");
      if ((end - begin) % size != 0)
        fail_model(info, "the pool's " + std::to_string(end - begin) + " items for " + std::to_string(size) +
                             "-grams do not form whole " + std::to_string(size) + "-grams");
      const bool wanted = size >= a.min_gram_length && size <= a.max_gram_length;
      for (int64_t start = begin; start < end; start += size, ++id) {
        if (!wanted) continue;
        int32_t node = 0;
        for (int64_t k = start; k < start + size; ++k) {
          auto [it, inserted] = nodes[node].children.try_emplace(pool[k], static_cast<int32_t>(nodes.size()));
          const int32_t child = it->second;
          if (inserted) nodes.emplace_back();
          node = child;
        }
        nodes[node].id = id;
      }
    }
    return id - 1;
  }

  const Node* child(const Node& n, const Key& k) const {
    auto it = n.children.find(k);
    return it == n.children.end() ? nullptr : &nodes[it->second];
  }
};

template <typename Key>
class TfIdfVectorizer final : public Kernel {
 public:
  explicit TfIdfVectorizer(const KernelInfo& info) : attrs_(info), output_size_(attrs_.output_size()) {
    int64_t count;
    if constexpr (std::is_same_v<Key, std::string>) count = trie_.load(info, attrs_, attrs_.pool_strings);
    else count = trie_.load(info, attrs_, attrs_.pool_int64s);
    if (count > static_cast<int64_t>(attrs_.ngram_indexes.size()))
      fail_model(info, "the pool holds " + std::to_string(count) + " n-grams but 'ngram_indexes' has only " +
                           std::to_string(attrs_.ngram_indexes.size()) + " entries");
    if (!attrs_.weights.empty()) {
      if (attrs_.weights.size() != attrs_.ngram_indexes.size())
        fail_model(info, "attribute 'weights' has " + std::to_string(attrs_.weights.size()) +
                             " values, expected one per n-gram of 'ngram_indexes' (" +
                             std::to_string(attrs_.ngram_indexes.size()) + ")");
      column_weights_.assign(static_cast<size_t>(output_size_), 0.0f);
      for (size_t i = 0; i < attrs_.weights.size(); ++i)
        column_weights_[static_cast<size_t>(attrs_.ngram_indexes[i])] = attrs_.weights[i];
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() > 2)
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'X' has shape " + shape_to_string(x.shape()) + ", expected [C] or [N, C]");
    const bool batched = x.rank() == 2;
    const int64_t rows = batched ? x.dim(0) : 1;
    const int64_t cols = batched ? x.dim(1) : x.element_count();
    std::vector<int64_t> y_shape = batched ? std::vector<int64_t>{rows, output_size_} : std::vector<int64_t>{output_size_};
    float* y = ctx.allocate_output(0, DataType::kFloat, y_shape).data<float>();
    const auto count_rows = [&](const auto* in) {
      ctx.thread_pool().parallel_for(rows, static_cast<double>(cols * (attrs_.max_skip_count + 1) * 8),
                                     [&](int64_t begin, int64_t end) {
                                       std::vector<int64_t> counts(static_cast<size_t>(output_size_));
                                       for (int64_t r = begin; r < end; ++r) {
                                         std::fill(counts.begin(), counts.end(), 0);
                                         count_row(in + r * cols, cols, counts);
                                         write_row(counts, y + r * output_size_);
                                       }
                                     });
    };
    if constexpr (std::is_same_v<Key, std::string>) {
      if (x.dtype() != DataType::kString)
        fail(ctx, ErrorCode::kInvalidArgument,
             "input 'X' is " + x.describe() + " but the pool is 'pool_strings': expected a string tensor");
      count_rows(x.data<std::string>());
    } else if (x.dtype() == DataType::kInt64) {
      count_rows(x.data<int64_t>());
    } else if (x.dtype() == DataType::kInt32) {
      count_rows(x.data<int32_t>());
    } else {
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'X' is " + x.describe() + " but the pool is 'pool_int64s': expected int32 or int64");
    }
  }

 private:
  template <typename T>
  void count_row(const T* row, int64_t cols, std::vector<int64_t>& counts) const {
    const auto& root = trie_.nodes[0];
    if (root.children.empty()) return;
    int64_t min_size = attrs_.min_gram_length;
    for (int64_t skip = 1; skip <= attrs_.max_skip_count + 1; ++skip) {
      for (int64_t start = 0; start < cols; ++start) {
        if (start + skip * (min_size - 1) >= cols) break;  // no n-gram of a wanted size fits
        const typename NgramTrie<Key>::Node* node = &root;
        for (int64_t size = 1, item = start; size <= attrs_.max_gram_length && item < cols && !node->children.empty();
             ++size, item += skip) {
          node = trie_.child(*node, row[item]);  // int32 items widen to the int64 keys
          if (!node) break;
          if (size >= min_size && node->id != 0) ++counts[static_cast<size_t>(attrs_.ngram_indexes[node->id - 1])];
        }
      }
      // Unigrams do not depend on the skip distance: count them in the first pass only.
      if (min_size == 1) {
        ++min_size;
        if (min_size > attrs_.max_gram_length) break;
      }
    }
  }

  void write_row(const std::vector<int64_t>& counts, float* out) const {
    const bool weighted = !column_weights_.empty();
    for (size_t i = 0; i < counts.size(); ++i) {
      const auto c = static_cast<float>(counts[i]);
      switch (attrs_.mode) {
        case Weighting::kTF: out[i] = c; break;
        case Weighting::kIDF: out[i] = counts[i] > 0 ? (weighted ? column_weights_[i] : 1.0f) : 0.0f; break;
        case Weighting::kTFIDF: out[i] = weighted ? column_weights_[i] * c : c; break;
      }
    }
  }

  TfIdfAttributes attrs_;
  int64_t output_size_;
  NgramTrie<Key> trie_;
  std::vector<float> column_weights_;  ///< weights by output column; empty without weights
};

std::unique_ptr<Kernel> make_tfidf(const KernelInfo& info) {
  if (info.node().get_strings("pool_strings").empty()) return std::make_unique<TfIdfVectorizer<int64_t>>(info);
  return std::make_unique<TfIdfVectorizer<std::string>>(info);
}

}  // namespace

void register_tfidf_kernels(KernelRegistry& r) {
  r.add("TfIdfVectorizer", {9}, make_tfidf, {DataType::kString, DataType::kInt32, DataType::kInt64});
}

}  // namespace ferry::ep::cpu
