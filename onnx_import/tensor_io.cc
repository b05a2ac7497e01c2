// TensorProto / SparseTensorProto <-> ferry::Tensor, including external data files.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "ir/page_pool.h"
#include "onnx_import/internal.h"

namespace ferry::onnx_import::detail {
namespace {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data is little-endian; this build assumes a little-endian host");

std::string dims_to_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidModel, msg); }

std::string tensor_label(const onnx::TensorProto& p) {
  return p.name().empty() ? std::string("tensor") : "tensor '" + p.name() + "'";
}

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

/// Alignment a pointer needs before a Tensor may point at it instead of copying.
size_t natural_alignment(DataType dt) {
  size_t bytes = dtype_bits(dt) / 8;
  if (bytes == 0) return 1;
  return bytes > 8 ? 8 : bytes;
}

/// A copy of a payload too misaligned to alias. From 128 KiB up it goes to an anonymous mapping
/// of its own (mem::map_pages), unmapped (or recycled, ir/page_pool.h) with the last handle: a weight released after prepacking gives its pages
/// back at once (the next allocations reuse them) instead of leaving a hole in the heap. With
/// `drop_source`, the source's pages leave the process as they are copied (the page cache keeps
/// them), so a large payload is never resident twice. (Copies into one MADV_HUGEPAGE reservation
/// were tried: 14-17% less creation CPU on MobileNetV2 and EfficientNet-B0, but with the kernel's
/// THP defrag at "madvise" a huge-page fault may stall (synchronous compaction), and creation
/// then took 2-4x as long in some processes: BERT-base 1.17 s against 0.26-0.32 s in one of
/// five, MobileNetV2 67-70 ms against 32-34 ms in two of five.)
Tensor copy_payload(DataType dtype, const std::vector<int64_t>& dims, const uint8_t* src, size_t bytes,
                    bool drop_source) {
  constexpr size_t kOwnMapping = size_t{128} << 10, kChunk = size_t{4} << 20;
  Tensor t;
  void* dst = bytes >= kOwnMapping ? mem::map_pages(bytes) : nullptr;
  if (dst == nullptr)
    t = Tensor::empty(dtype, dims);
  else
    t = Tensor::wrap(dtype, dims, dst, std::shared_ptr<void>(dst, [bytes](void* q) { mem::unmap_pages(q, bytes); }));
  auto* out = static_cast<uint8_t*>(t.raw_data());
  for (size_t at = 0; at < bytes; at += kChunk) {
    const size_t n = std::min(kChunk, bytes - at);
    std::memcpy(out + at, src + at, n);
    if (drop_source) mem::drop_file_pages(src + at, n);
  }
  if (drop_source) mem::drop_file_pages(src, bytes);  // the pages astride chunk boundaries
  return t;
}

/// Fills `t` (already allocated) from a typed repeated field, converting each value with `conv`.
template <typename Dst, typename Field, typename Conv>
void fill_typed(Tensor& t, const Field& field, Conv conv) {
  Dst* out = static_cast<Dst*>(t.raw_data());
  for (int i = 0; i < field.size(); ++i) out[i] = conv(field.Get(i));
}

Tensor external_tensor(onnx::TensorProto& p, DataType dtype, const std::vector<int64_t>& dims,
                       const CheckedSize& size, ImportContext& ctx) {
  const std::string what = tensor_label(p);
  if (dtype == DataType::kString) throw invalid(what + ": string tensors cannot use external data");
  std::string location;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      if (!parse_u64(kv.value(), offset))
        throw invalid(what + ": external data offset '" + kv.value() + "' is not a non-negative integer");
    } else if (kv.key() == "length") {
      if (!parse_u64(kv.value(), length))
        throw invalid(what + ": external data length '" + kv.value() + "' is not a non-negative integer");
      has_length = true;
    }
    // "checksum" and unknown keys are accepted and not verified.
  }
  if (location.empty()) throw invalid(what + ": external data has no 'location'");
  if (ctx.directory.empty())
    throw invalid(what + ": refers to external data file '" + location +
                  "' but the model was loaded from bytes without a directory to resolve it in");
  if (location.front() == '/' || location.front() == '\\')
    throw invalid(what + ": external data location '" + location +
                  "' is an absolute path; it must be relative to the model's directory");
  {
    size_t start = 0;
    while (start <= location.size()) {
      size_t end = location.find_first_of("/\\", start);
      if (end == std::string::npos) end = location.size();
      if (location.compare(start, end - start, "..") == 0 && end - start == 2)
        throw invalid(what + ": external data location '" + location +
                      "' contains '..'; it must stay inside the model's directory");
      start = end + 1;
    }
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::canonical(ctx.directory, ec);
  if (ec) throw Error(ErrorCode::kIO, "model directory '" + ctx.directory + "': " + ec.message());
  fs::path resolved = fs::weakly_canonical(dir / location, ec);
  if (ec) throw Error(ErrorCode::kIO, what + ": external data file '" + location + "': " + ec.message());
  std::string dir_s = dir.string(), res_s = resolved.string();
  if (dir_s.back() != '/') dir_s += '/';
  if (res_s.compare(0, dir_s.size(), dir_s) != 0)
    throw invalid(what + ": external data location '" + location + "' resolves to '" + res_s +
                  "', outside the model's directory '" + dir.string() + "'");

  std::shared_ptr<MappedFile>& file = ctx.mapped[res_s];
  if (!file) {
    try {
      file = MappedFile::open(res_s);
    } catch (const Error& e) {
      ctx.mapped.erase(res_s);
      throw e.with_context(what + ": external data '" + location + "'");
    }
  }
  if (offset > file->size())
    throw invalid(what + ": external data offset " + std::to_string(offset) + " is past the end of '" +
                  location + "' (" + std::to_string(file->size()) + " bytes)");
  uint64_t available = file->size() - offset;
  if (has_length && length > available)
    throw invalid(what + ": external data offset " + std::to_string(offset) + " + length " +
                  std::to_string(length) + " lies outside '" + location + "' (" +
                  std::to_string(file->size()) + " bytes)");
  if (!has_length) length = available < size.bytes ? available : size.bytes;
  if (length != size.bytes)
    throw invalid(what + ": declared shape " + dims_to_string(dims) + " of " +
                  std::string(dtype_name(dtype)) + " needs " + std::to_string(size.bytes) +
                  " bytes but the external data holds " + std::to_string(length));
  uint8_t* ptr = file->mutable_data() + offset;
  if (reinterpret_cast<uintptr_t>(ptr) % natural_alignment(dtype) != 0)
    return copy_payload(dtype, dims, ptr, size.bytes, true);
  return Tensor::wrap(dtype, dims, ptr, file);
}

/// A tensor whose raw_data was left in the mapped model file (see strip_raw_data): aliases the
/// mapping when suitably aligned, else is copied out of it (and those pages are dropped from
/// this process, the page cache keeps them).
Tensor mapped_tensor(const onnx::TensorProto& p, DataType dtype, const std::vector<int64_t>& dims,
                     const CheckedSize& size, const RawSpan& span, ImportContext& ctx) {
  const std::string what = tensor_label(p);
  if (dtype == DataType::kString) throw invalid(what + ": string tensors must use string_data, not raw_data");
  if (span.size != size.bytes)
    throw invalid(what + ": declared shape " + dims_to_string(dims) + " of " + std::string(dtype_name(dtype)) +
                  " needs " + std::to_string(size.bytes) + " bytes but raw_data holds " +
                  std::to_string(span.size));
  MappedFile& file = *ctx.model_file;
  uint8_t* ptr = file.mutable_data() + span.offset;
  if (reinterpret_cast<uintptr_t>(ptr) % natural_alignment(dtype) == 0)
    return Tensor::wrap(dtype, dims, ptr, ctx.model_file);
  return copy_payload(dtype, dims, ptr, span.size, true);
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIO, "cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorCode::kIO, "'" + path + "' is not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* addr = ::mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorCode::kIO, "cannot map '" + path + "': " + std::strerror(err));
    }
    f->addr_ = addr;
    mem::register_file_mapping(addr, f->size_);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (!addr_) return;
  mem::unregister_file_mapping(addr_);
  ::munmap(addr_, size_);
}

CheckedSize checked_tensor_size(DataType dtype, const std::vector<int64_t>& dims, const std::string& what) {
  CheckedSize r;
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0)
      throw invalid(what + ": negative dim " + std::to_string(d) + " in shape " + dims_to_string(dims));
    if (__builtin_mul_overflow(n, d, &n))
      throw invalid(what + ": shape " + dims_to_string(dims) + " has more elements than fit in int64");
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(dtype_bits(dtype)), &bits))
    throw invalid(what + ": shape " + dims_to_string(dims) + " of " + std::string(dtype_name(dtype)) +
                  " needs more bytes than fit in 64 bits");
  uint64_t bytes = bits / 8 + (bits % 8 ? 1 : 0);
  if (bytes > Tensor::max_allocation_bytes())
    throw invalid(what + ": shape " + dims_to_string(dims) + " of " + std::string(dtype_name(dtype)) +
                  " needs " + std::to_string(bytes) + " bytes, more than the allocation limit of " +
                  std::to_string(Tensor::max_allocation_bytes()) +
                  " bytes (FERRY_MAX_ALLOCATION_BYTES)");
  r.elements = n;
  r.bytes = static_cast<size_t>(bytes);
  return r;
}

Tensor tensor_from_proto(onnx::TensorProto& p, ImportContext& ctx) {
  const std::string what = tensor_label(p);
  const int32_t code = p.data_type();
  if (!is_known_dtype_code(code))
    throw invalid(what + ": unknown data_type " + std::to_string(code) + " (this build knows 1.." +
                  std::to_string(kMaxDataTypeCode) + ")");
  const DataType dt = static_cast<DataType>(code);
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  const CheckedSize size = checked_tensor_size(dt, dims, what);
  const std::string decl = "declared shape " + dims_to_string(dims) + " of " + std::string(dtype_name(dt));

  if (p.data_location() == onnx::TensorProto::EXTERNAL) return external_tensor(p, dt, dims, size, ctx);
  if (ctx.model_file && !p.unknown_fields().empty()) {
    uint64_t index = 0;
    if (find_raw_span(p.unknown_fields(), index) && index < ctx.raw_spans.size())
      return mapped_tensor(p, dt, dims, size, ctx.raw_spans[index], ctx);
  }

  if (p.has_raw_data()) {
    if (dt == DataType::kString) throw invalid(what + ": string tensors must use string_data, not raw_data");
    if (p.raw_data().size() != size.bytes)
      throw invalid(what + ": " + decl + " needs " + std::to_string(size.bytes) +
                    " bytes but raw_data holds " + std::to_string(p.raw_data().size()));
    std::shared_ptr<std::string> keeper(p.release_raw_data());
    if (reinterpret_cast<uintptr_t>(keeper->data()) % natural_alignment(dt) != 0)
      return Tensor::from_bytes(dt, dims, keeper->data(), keeper->size());
    return Tensor::wrap(dt, dims, keeper->data(), keeper);
  }

  // Typed fields: which one holds the data and how many entries per element.
  auto expect = [&](const char* field, int64_t got, int64_t want) {
    if (got != want)
      throw invalid(what + ": " + decl + " needs " + std::to_string(want) + " entries in " + field +
                    " but it holds " + std::to_string(got));
  };
  const int64_t n = size.elements;
  Tensor t = Tensor::empty(dt, dims);
  switch (dt) {
    case DataType::kFloat:
      expect("float_data", p.float_data_size(), n);
      fill_typed<float>(t, p.float_data(), [](float v) { return v; });
      break;
    case DataType::kComplex64:
      expect("float_data", p.float_data_size(), 2 * n);
      fill_typed<float>(t, p.float_data(), [](float v) { return v; });
      break;
    case DataType::kDouble:
      expect("double_data", p.double_data_size(), n);
      fill_typed<double>(t, p.double_data(), [](double v) { return v; });
      break;
    case DataType::kComplex128:
      expect("double_data", p.double_data_size(), 2 * n);
      fill_typed<double>(t, p.double_data(), [](double v) { return v; });
      break;
    case DataType::kInt64:
      expect("int64_data", p.int64_data_size(), n);
      fill_typed<int64_t>(t, p.int64_data(), [](int64_t v) { return v; });
      break;
    case DataType::kUInt64:
      expect("uint64_data", p.uint64_data_size(), n);
      fill_typed<uint64_t>(t, p.uint64_data(), [](uint64_t v) { return v; });
      break;
    case DataType::kUInt32:
      expect("uint64_data", p.uint64_data_size(), n);
      fill_typed<uint32_t>(t, p.uint64_data(), [](uint64_t v) { return static_cast<uint32_t>(v); });
      break;
    case DataType::kInt32:
      expect("int32_data", p.int32_data_size(), n);
      fill_typed<int32_t>(t, p.int32_data(), [](int32_t v) { return v; });
      break;
    case DataType::kInt16:
      expect("int32_data", p.int32_data_size(), n);
      fill_typed<int16_t>(t, p.int32_data(), [](int32_t v) { return static_cast<int16_t>(v); });
      break;
    case DataType::kUInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      expect("int32_data", p.int32_data_size(), n);
      fill_typed<uint16_t>(t, p.int32_data(), [](int32_t v) { return static_cast<uint16_t>(v); });
      break;
    case DataType::kBool:
      expect("int32_data", p.int32_data_size(), n);
      fill_typed<uint8_t>(t, p.int32_data(), [](int32_t v) { return static_cast<uint8_t>(v != 0); });
      break;
    case DataType::kInt8:
    case DataType::kUInt8:
    case DataType::kFloat8E4M3FN:
    case DataType::kFloat8E4M3FNUZ:
    case DataType::kFloat8E5M2:
    case DataType::kFloat8E5M2FNUZ:
    case DataType::kFloat8E8M0:
      expect("int32_data", p.int32_data_size(), n);
      fill_typed<uint8_t>(t, p.int32_data(), [](int32_t v) { return static_cast<uint8_t>(v); });
      break;
    case DataType::kInt4:
    case DataType::kUInt4:
    case DataType::kFloat4E2M1:
    case DataType::kInt2:
    case DataType::kUInt2:
      // Packed: one int32_data entry per storage byte (2 or 4 elements).
      expect("int32_data", p.int32_data_size(), static_cast<int64_t>(size.bytes));
      fill_typed<uint8_t>(t, p.int32_data(), [](int32_t v) { return static_cast<uint8_t>(v); });
      break;
    case DataType::kString: {
      expect("string_data", p.string_data_size(), n);
      auto* out = t.data<std::string>();
      for (int64_t i = 0; i < n; ++i) out[i].swap(*p.mutable_string_data(static_cast<int>(i)));
      break;
    }
    case DataType::kUndefined:
      throw invalid(what + ": data_type is UNDEFINED");
  }
  return t;
}

ir::SparseTensor sparse_from_proto(onnx::SparseTensorProto& p, ImportContext& ctx) {
  const std::string what =
      p.values().name().empty() ? std::string("sparse tensor") : "sparse tensor '" + p.values().name() + "'";
  ir::SparseTensor s;
  s.dims.assign(p.dims().begin(), p.dims().end());
  try {
    s.values = tensor_from_proto(*p.mutable_values(), ctx);
    s.indices = tensor_from_proto(*p.mutable_indices(), ctx);
  } catch (const Error& e) {
    throw e.with_context(what);
  }
  checked_tensor_size(s.values.dtype(), s.dims, what);
  const int64_t nnz = s.values.rank() == 1 ? s.values.dim(0) : -1;
  if (nnz < 0) throw invalid(what + ": values must be 1-D, got " + dims_to_string(s.values.shape()));
  if (s.indices.dtype() != DataType::kInt64)
    throw invalid(what + ": indices must be int64, got " + std::string(dtype_name(s.indices.dtype())));
  const auto& ishape = s.indices.shape();
  const bool linear = ishape.size() == 1 && ishape[0] == nnz;
  const bool coords = ishape.size() == 2 && ishape[0] == nnz && ishape[1] == static_cast<int64_t>(s.dims.size());
  if (!linear && !coords)
    throw invalid(what + ": indices shape " + dims_to_string(ishape) + " must be [" + std::to_string(nnz) +
                  "] or [" + std::to_string(nnz) + "," + std::to_string(s.dims.size()) + "]");
  return s;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  if (!name.empty()) p->set_name(name);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (t.dtype() == DataType::kString) {
    for (const std::string& s : t.span<std::string>()) p->add_string_data(s);
    return;
  }
  p->set_raw_data(t.raw_data(), t.byte_size());
}

void sparse_to_proto(const Tensor& dense, const std::string& name, onnx::SparseTensorProto* p) {
  for (int64_t d : dense.shape()) p->add_dims(d);
  const size_t bits = dtype_bits(dense.dtype());
  const auto* bytes = static_cast<const uint8_t*>(dense.raw_data());
  std::vector<int64_t> idx;
  std::string values;
  const bool whole_bytes = bits % 8 == 0 && dense.dtype() != DataType::kString;
  if (whole_bytes) {
    const size_t es = bits / 8;
    for (int64_t i = 0; i < dense.element_count(); ++i) {
      const uint8_t* e = bytes + static_cast<size_t>(i) * es;
      bool nonzero = false;
      for (size_t b = 0; b < es && !nonzero; ++b) nonzero = e[b] != 0;
      if (!nonzero) continue;
      idx.push_back(i);
      values.append(reinterpret_cast<const char*>(e), es);
    }
  }
  onnx::TensorProto* v = p->mutable_values();
  onnx::TensorProto* ind = p->mutable_indices();
  if (!whole_bytes) {
    // Packed sub-byte and string tensors: every element is listed.
    tensor_to_proto(dense.reshaped({dense.element_count()}), name, v);
    for (int64_t i = 0; i < dense.element_count(); ++i) idx.push_back(i);
  } else {
    v->set_name(name);
    v->set_data_type(static_cast<int32_t>(dense.dtype()));
    v->add_dims(static_cast<int64_t>(idx.size()));
    v->set_raw_data(std::move(values));
  }
  ind->set_data_type(static_cast<int32_t>(DataType::kInt64));
  ind->add_dims(static_cast<int64_t>(idx.size()));
  ind->set_raw_data(idx.data(), idx.size() * sizeof(int64_t));
}

void sparse_to_proto(const ir::SparseTensor& s, onnx::SparseTensorProto* p) {
  for (int64_t d : s.dims) p->add_dims(d);
  tensor_to_proto(s.values, "values", p->mutable_values());
  tensor_to_proto(s.indices, "", p->mutable_indices());
}

}  // namespace ferry::onnx_import::detail
