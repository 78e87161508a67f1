// IDX files (issue 30): a file written here reads back, plain and gzip'd; every
// hostile header or payload is refused with one line naming the file; images and
// labels pair only when they agree; the Fashion-MNIST package reads whole.

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "image/io/idx.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace hdiff::image;
using hdiff::testing::error_of;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// An IDX file of unsigned bytes with the given dimensions and data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& data, char type = '\x08') {
  std::string out = "\x00\x00"s + type + static_cast<char>(dims.size());
  for (uint32_t d : dims) out += be32(d);
  return out + data;
}

// `data` as one gzip member (zlib's deflate with the gzip wrapper).
std::string gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string ramp(size_t n, int mod = 256) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7) % static_cast<size_t>(mod));
  return s;
}

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_idx_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// decode_idx's error, which must be one line naming the file and holding `needle`.
void expect_refused(const std::string& bytes, const std::string& needle, uint64_t max = kMaxIdxPayloadBytes) {
  const auto message = error_of([&] { decode_idx(bytes, "bad.idx", max); });
  EXPECT_NE(message.find("'bad.idx'"), std::string::npos) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << needle << " not in: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace

TEST(Idx, PlainAndGzipRoundTrip) {
  const std::string data = ramp(3 * 4 * 5);
  const auto plain = idx_bytes({3, 4, 5}, data);
  for (const auto& bytes : {plain, gzip(plain)}) {
    const auto array = decode_idx(bytes, "tiny");
    EXPECT_EQ(array.dims, (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(std::string(array.data.begin(), array.data.end()), data);
  }
  const auto dir = fresh("roundtrip");
  spit(dir / "images.gz", gzip(plain));
  spit(dir / "labels", idx_bytes({3}, "\x02\x00\x09"s));
  const auto set = read_labelled_images(dir / "images.gz", dir / "labels", 10);
  EXPECT_EQ(set.count, 3);
  EXPECT_EQ(set.height, 4);
  EXPECT_EQ(set.width, 5);
  EXPECT_EQ(set.labels, (std::vector<uint8_t>{2, 0, 9}));
  EXPECT_EQ(std::string(set.pixels.begin(), set.pixels.end()), data);
}

TEST(Idx, EmptyDimensionIsAnEmptyArray) {
  const auto array = decode_idx(idx_bytes({0, 28, 28}, ""), "empty");
  EXPECT_TRUE(array.data.empty());
  // ...which is not a data set.
  EXPECT_NE(error_of([&] { pair_images_labels(array, decode_idx(idx_bytes({0}, ""), "l"), "i", "l", 10); })
                .find("at least one image"),
            std::string::npos);
}

TEST(Idx, RefusesDamagedHeaders) {
  expect_refused("", "ends inside its header");
  expect_refused("\x00\x00\x08"s, "ends inside its header");
  expect_refused("\x00\x00\x08\x03\x00\x00"s, "ends inside its header");
  expect_refused("\x01\x00\x08\x01"s + be32(1) + "x", "not an IDX file");
  expect_refused("PK\x03\x04 not idx", "not an IDX file");
  expect_refused(idx_bytes({2}, "ab", '\x0D'), "float (0x0D)");
  expect_refused(idx_bytes({2}, "ab", '\x42'), "unknown type 0x42");
  expect_refused("\x00\x00\x08\x00"s, "declares 0 dimensions");
  expect_refused("\x00\x00\x08\x09"s + std::string(36, '\x01'), "declares 9 dimensions");
}

TEST(Idx, RefusesHugeDimensionsBeforeAllocating) {
  // 2^32-1 cubed wraps a 64-bit product; 4 x 2^31 does not but exceeds the cap.
  expect_refused(idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, ""), "4294967295x4294967295x4294967295");
  expect_refused(idx_bytes({4, 0x80000000u}, ""), "hdiff reads at most");
  expect_refused(gzip(idx_bytes({60000, 280, 280}, "")), "hdiff reads at most");
  expect_refused(idx_bytes({10, 10}, ramp(100)), "hdiff reads at most", 99);
}

TEST(Idx, RefusesPayloadOfTheWrongSize) {
  const auto full = idx_bytes({4, 4}, ramp(16));
  expect_refused(full.substr(0, full.size() - 1), "declares 4x4 = 16 bytes of data but the file holds 15");
  expect_refused(full + "z", "but the file holds 17");
  const auto zipped = gzip(full);
  expect_refused(zipped.substr(0, zipped.size() - 5), "truncated");
  expect_refused(gzip(full.substr(0, full.size() - 3)), "but it holds only 13");
  expect_refused(gzip(full + "extra"), "more bytes than its header declares");
  expect_refused(zipped + zipped, "bytes follow its gzip stream");
  std::string flipped = zipped;
  flipped[flipped.size() - 6] ^= 0x20;  // inside the CRC-32 of the trailer
  expect_refused(flipped, "damaged");
}

TEST(Idx, RefusesGzipBomb) {
  // 64 MiB of zeros compress to about 64 kB; the header declares 16 bytes, and
  // no more than those (and one byte to see the excess) are ever decompressed.
  const auto bomb = gzip(idx_bytes({16}, std::string(size_t{1} << 26, '\0')));
  EXPECT_LT(bomb.size(), size_t{1} << 17);
  expect_refused(bomb, "more bytes than its header declares");
  // A header declaring the bomb's whole size is refused by the cap before decompressing.
  expect_refused(gzip(idx_bytes({1u << 26}, std::string(size_t{1} << 26, '\0'))), "hdiff reads at most",
                 uint64_t{1} << 20);
}

TEST(Idx, PairsOnlyMatchingImagesAndLabels) {
  const auto images = decode_idx(idx_bytes({3, 2, 2}, ramp(12)), "i");
  const auto labels = [](const std::string& data, std::vector<uint32_t> dims) {
    return decode_idx(idx_bytes(dims, data), "l");
  };
  EXPECT_NE(error_of([&] { pair_images_labels(images, labels("\x01\x02"s, {2}), "im", "lb", 10); })
                .find("3 images but 2 labels"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pair_images_labels(images, labels("\x01\x0a\x02"s, {3}), "im", "lb", 10); })
                .find("label 1 is 10; labels lie in [0, 10)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pair_images_labels(images, labels("\x01\x02\x03"s, {3, 1}), "im", "lb", 10); })
                .find("'lb'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { pair_images_labels(labels("\x01\x02\x03"s, {3}), labels("\x01\x02\x03"s, {3}), "im",
                                                  "lb", 10); })
                .find("'im'"),
            std::string::npos);
  EXPECT_EQ(pair_images_labels(images, labels("\x00\x09\x05"s, {3}), "im", "lb", 10).count, 3);
}

TEST(Idx, RefusesFilesThatAreNotRegular) {
  const auto message = error_of([] { read_idx("/dev/zero"); });
  EXPECT_NE(message.find("/dev/zero"), std::string::npos) << message;
  const auto dir = fresh("missing");
  const auto missing = error_of([&] { read_fashion_mnist(dir, "train"); });
  EXPECT_NE(missing.find("train-images-idx3-ubyte.gz: no such file"), std::string::npos) << missing;
  EXPECT_NE(error_of([&] { read_fashion_mnist(dir, "test"); }).find("'train' and 't10k'"), std::string::npos);
}

// scripts/install-deps.sh installs dataset-fashion-mnist, so its files must be there.
TEST(Idx, ReadsTheFashionMnistPackage) {
  ASSERT_TRUE(fs::exists(fs::path(kFashionMnistDir) / "t10k-images-idx3-ubyte.gz"))
      << "install dataset-fashion-mnist (scripts/install-deps.sh)";
  const auto test = read_fashion_mnist(kFashionMnistDir, "t10k");
  EXPECT_EQ(test.count, 10000);
  EXPECT_EQ(test.height, 28);
  EXPECT_EQ(test.width, 28);
  EXPECT_EQ(test.pixels.size(), size_t{10000} * 28 * 28);
  std::vector<int> per_class(10);
  for (uint8_t label : test.labels) ++per_class[label];
  for (int n : per_class) EXPECT_EQ(n, 1000);  // the test split is balanced
  const auto train = read_fashion_mnist(kFashionMnistDir, "train");
  EXPECT_EQ(train.count, 60000);
  EXPECT_EQ(train.labels.size(), 60000u);
  EXPECT_EQ(fashion_mnist_class_names().size(), 10u);
}
