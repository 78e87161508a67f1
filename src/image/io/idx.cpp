#include "image/io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "common/checked.h"
#include "common/error.h"
#include "common/input_file.h"

namespace hdiff::image {
namespace fs = std::filesystem;

namespace {

constexpr int kHeaderFixedBytes = 4;       // 00 00, type, number of dimensions
constexpr uint8_t kTypeUnsignedByte = 0x08;
// The payload grows by at most this much per step, so that a short file which
// declares a large payload costs memory only for what it really holds.
constexpr size_t kGrowBytes = size_t{1} << 24;

std::string type_name(uint8_t type) {
  switch (type) {
    case 0x09: return "signed byte (0x09)";
    case 0x0B: return "short (0x0B)";
    case 0x0C: return "int (0x0C)";
    case 0x0D: return "float (0x0D)";
    case 0x0E: return "double (0x0E)";
    default: return fmt::format("an unknown type 0x{:02X}", type);
  }
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(dims[i]);
  }
  return out;
}

// The bytes of the file after decompression, produced on demand.
class Payload {
 public:
  virtual ~Payload() = default;
  // Writes up to `n` bytes to `out`; fewer only at the end of the data.
  virtual size_t read(uint8_t* out, size_t n) = 0;
  // Called once everything declared was read: fails if more data or input follows.
  virtual void check_end() = 0;
};

class PlainPayload final : public Payload {
 public:
  explicit PlainPayload(std::string_view bytes) : bytes_(bytes) {}
  size_t read(uint8_t* out, size_t n) override {
    const size_t take = std::min(n, bytes_.size() - pos_);
    std::memcpy(out, bytes_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  void check_end() override {}  // the caller compared the sizes before reading
 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// A gzip stream (one member) through zlib, inflated only as far as asked.
class GzipPayload final : public Payload {
 public:
  GzipPayload(std::string_view bytes, const std::string& name) : bytes_(bytes), name_(name) {
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) fail("cannot read IDX file '{}': zlib failed to start", name_);
  }
  ~GzipPayload() override { inflateEnd(&stream_); }
  GzipPayload(const GzipPayload&) = delete;
  GzipPayload& operator=(const GzipPayload&) = delete;

  size_t read(uint8_t* out, size_t n) override {
    size_t produced = 0;
    while (produced < n && !ended_) {
      if (stream_.avail_in == 0 && fed_ < bytes_.size()) {
        const size_t chunk = std::min<size_t>(bytes_.size() - fed_, UINT_MAX);
        stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes_.data() + fed_));
        stream_.avail_in = static_cast<uInt>(chunk);
        fed_ += chunk;
      }
      const size_t want = std::min<size_t>(n - produced, UINT_MAX);
      stream_.next_out = out + produced;
      stream_.avail_out = static_cast<uInt>(want);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      produced += want - stream_.avail_out;
      if (status == Z_STREAM_END) {
        ended_ = true;
      } else if (status == Z_BUF_ERROR) {
        // No progress possible: room for output remains, so the input is used up before the stream's end.
        fail("cannot read IDX file '{}': its gzip stream is truncated (the file ends before the stream does)",
             name_);
      } else if (status != Z_OK) {
        fail("cannot read IDX file '{}': its gzip stream is damaged ({})", name_,
             stream_.msg ? std::string(stream_.msg) : "zlib error " + std::to_string(status));
      }
    }
    return produced;
  }

  void check_end() override {
    uint8_t extra = 0;
    if (read(&extra, 1) != 0)
      fail("cannot read IDX file '{}': it decompresses to more bytes than its header declares", name_);
    if (stream_.avail_in != 0 || fed_ != bytes_.size())
      fail("cannot read IDX file '{}': bytes follow its gzip stream", name_);
  }

 private:
  std::string_view bytes_;
  std::string name_;
  z_stream stream_{};
  size_t fed_ = 0;
  bool ended_ = false;
};

// Exactly `n` bytes, or an error saying the data ended after fewer.
void read_exact(Payload& payload, uint8_t* out, size_t n, const std::string& name, const char* what) {
  const size_t got = payload.read(out, n);
  if (got != n) fail("cannot read IDX file '{}': it ends inside its {} ({} of {} bytes)", name, what, got, n);
}

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

IdxArray decode_idx(std::string_view file_bytes, const std::string& name, uint64_t max_payload) {
  const bool gzip = file_bytes.size() >= 2 && static_cast<uint8_t>(file_bytes[0]) == 0x1f &&
                    static_cast<uint8_t>(file_bytes[1]) == 0x8b;
  std::unique_ptr<Payload> payload;
  if (gzip)
    payload = std::make_unique<GzipPayload>(file_bytes, name);
  else
    payload = std::make_unique<PlainPayload>(file_bytes);

  uint8_t fixed[kHeaderFixedBytes];
  read_exact(*payload, fixed, kHeaderFixedBytes, name, "header");
  if (fixed[0] != 0 || fixed[1] != 0)
    fail("cannot read IDX file '{}': it is not an IDX file (it must start with two zero bytes)", name);
  if (fixed[2] != kTypeUnsignedByte)
    fail("cannot read IDX file '{}': its elements are of {}; hdiff reads unsigned bytes (0x08)", name,
         type_name(fixed[2]));
  const int ndims = fixed[3];
  if (ndims < 1 || ndims > kMaxIdxDims)
    fail("cannot read IDX file '{}': it declares {} dimensions; hdiff reads 1 to {}", name, ndims, kMaxIdxDims);

  uint8_t dim_bytes[4 * kMaxIdxDims];
  read_exact(*payload, dim_bytes, static_cast<size_t>(4 * ndims), name, "header");
  IdxArray array;
  for (int d = 0; d < ndims; ++d) array.dims.push_back(big_endian_u32(dim_bytes + 4 * d));
  // Each dimension is below 2^32, so the product of 8 is checked, never wrapped.
  const auto count = checked_element_count(array.dims, static_cast<int64_t>(std::min<uint64_t>(max_payload, INT64_MAX)));
  if (!count)
    fail("cannot read IDX file '{}': its header declares {} elements; hdiff reads at most {}", name,
         dims_text(array.dims), max_payload);
  const auto declared = static_cast<uint64_t>(*count);
  const uint64_t header_bytes = kHeaderFixedBytes + 4 * static_cast<uint64_t>(ndims);
  if (!gzip && file_bytes.size() - header_bytes != declared)
    fail("cannot read IDX file '{}': its header declares {} = {} bytes of data but the file holds {}", name,
         dims_text(array.dims), declared, file_bytes.size() - header_bytes);

  while (array.data.size() < declared) {
    const size_t have = array.data.size();
    const size_t step = static_cast<size_t>(std::min<uint64_t>(declared - have, kGrowBytes));
    array.data.resize(have + step);
    const size_t got = payload->read(array.data.data() + have, step);
    if (got != step)
      fail("cannot read IDX file '{}': its header declares {} = {} bytes of data but it holds only {}", name,
           dims_text(array.dims), declared, have + got);
  }
  payload->check_end();
  return array;
}

IdxArray read_idx(const fs::path& path, uint64_t max_payload) {
  // A compressed file is smaller than its payload but for a few bytes per 16 kB
  // block (stored blocks); the margin covers those and the header.
  const uint64_t max_file = max_payload + max_payload / 256 + 4096;
  const auto bytes = read_input_file(path, "IDX file", max_file);
  return decode_idx(bytes, path.string(), max_payload);
}

LabelledImages pair_images_labels(IdxArray images, IdxArray labels, const std::string& images_name,
                                  const std::string& labels_name, int num_classes) {
  HDIFF_CHECK(num_classes >= 1 && num_classes <= 256);
  if (images.dims.size() != 3)
    fail("cannot read images '{}': an image file holds (count, height, width) but this one has {} dimensions ({})",
         images_name, images.dims.size(), dims_text(images.dims));
  if (labels.dims.size() != 1)
    fail("cannot read labels '{}': a label file holds (count) but this one has {} dimensions ({})", labels_name,
         labels.dims.size(), dims_text(labels.dims));
  LabelledImages out;
  out.count = images.dims[0];
  out.height = images.dims[1];
  out.width = images.dims[2];
  if (out.count < 1 || out.height < 1 || out.width < 1)
    fail("cannot read images '{}': it holds {} images; a data set needs at least one image of at least 1x1",
         images_name, dims_text(images.dims));
  if (labels.dims[0] != out.count)
    fail("cannot pair images '{}' with labels '{}': {} images but {} labels", images_name, labels_name, out.count,
         labels.dims[0]);
  for (size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= num_classes)
      fail("cannot read labels '{}': label {} is {}; labels lie in [0, {})", labels_name, i, labels.data[i],
           num_classes);
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

LabelledImages read_labelled_images(const fs::path& images, const fs::path& labels, int num_classes) {
  // Images first (argument order is unspecified), so that errors come in a fixed order.
  auto image_array = read_idx(images);
  auto label_array = read_idx(labels);
  return pair_images_labels(std::move(image_array), std::move(label_array), images.string(), labels.string(),
                            num_classes);
}

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

LabelledImages read_fashion_mnist(const fs::path& dir, const std::string& split) {
  if (split != "train" && split != "t10k")
    fail("Fashion-MNIST has the splits 'train' and 't10k', not '{}'", split);
  const auto find = [&](const std::string& stem) {
    const auto gz = dir / (stem + ".gz");
    std::error_code ec;
    if (fs::exists(gz, ec) || !fs::exists(dir / stem, ec)) return gz;  // a missing file is reported by its .gz name
    return dir / stem;
  };
  auto data = read_labelled_images(find(split + "-images-idx3-ubyte"), find(split + "-labels-idx1-ubyte"),
                                   kFashionMnistClasses);
  if (data.height != 28 || data.width != 28)
    fail("Fashion-MNIST images in '{}' must be 28x28, not {}x{}", dir.string(), data.width, data.height);
  return data;
}

}  // namespace hdiff::image
