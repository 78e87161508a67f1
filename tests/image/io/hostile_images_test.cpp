// Hostile image inputs (issue 10), crafted here: the decoder's checks (PNG chunk
// CRCs, truncation, declared size, JPEG end marker), folder listing, and
// `hdiff images forward-backward` / `images experiment` on bad inputs: exit 2,
// one stderr line naming the file and the problem, no output left behind;
// resume redoes damaged outputs; NaN never reaches a result.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/crc32.h"
#include "common/error.h"
#include "image/io/image_io.h"
#include "image/io/jpeg_writer.h"
#include "image/io/png_chunks.h"
#include "support/helpers.h"

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace hdiff::image;
using hdiff::testing::error_of;
using hdiff::testing::be32;
using hdiff::testing::chunk;
using hdiff::testing::jpeg_bytes;
using hdiff::testing::read_text;
using hdiff::testing::run_hdiff;

namespace {

const fs::path kFixtures = fs::path(HDIFF_FIXTURES_DIR) / "image";
const fs::path kAdm = kFixtures / "adm_a";

fs::path fresh(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("hdiff_test_hostile_images_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

Image pattern(int w, int h, int seed) {
  Image img{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = static_cast<uint8_t>((i * 37 + seed * 101) % 251);
  return img;
}

// A PNG whose header declares width × height RGB pixels, with valid CRCs and a token IDAT.
std::string png_declaring(uint32_t width, uint32_t height) {
  return "\x89PNG\r\n\x1a\n"s + chunk("IHDR", be32(width) + be32(height) + "\x08\x02\x00\x00\x00"s) +
         chunk("IDAT", "\x78\x9c\x03\x00\x00\x00\x00\x01"s) + chunk("IEND", "");
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Exit 2, one line on stderr holding every needle.
void expect_one_line_error(const hdiff::testing::CommandResult& r, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("hdiff: error: ", 0), 0u) << r.err;
  for (const auto& needle : needles) EXPECT_TRUE(has(r.err, needle)) << needle << " not in: " << r.err;
}

std::string forward_backward(const std::string& input) {
  return "images forward-backward --checkpoint " + (kAdm / "model.pt").string() + " --model-config " +
         (kAdm / "config.json").string() + " --steps 4 --t 1 --device cpu --out out " + input;
}

}  // namespace

TEST(HostileImages, DecoderRefusesDamagedFiles) {
  const fs::path dir = fresh("decoder");
  write_png(dir / "good.png", pattern(9, 7, 1));
  const std::string png = read_text(dir / "good.png");
  // One flipped bit in the IDAT CRC.
  std::string bad_crc = png;
  bad_crc[png.size() - 13] ^= 1;
  spit(dir / "crc.png", bad_crc);
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "crc.png"); }), "IDAT: CRC error"));
  spit(dir / "half.png", png.substr(0, png.size() / 2));
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "half.png"); }), "truncated"));
  spit(dir / "noend.png", png.substr(0, png.size() - 12));  // everything but IEND
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "noend.png"); }), "before its IEND"));
  spit(dir / "text.png", "hello, not an image");
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "text.png"); }), "neither a PNG nor a JPEG"));
  // Sizes refused before decoding: 2^31 pixels, 30000^2, zero, and sides whose product
  // overflows int64 (found by fuzz_image).
  for (const auto& [w, h] : {std::pair{65536u, 32768u}, std::pair{30000u, 30000u}, std::pair{0u, 5u},
                             std::pair{0xff000000u, 0xff00d287u}}) {
    spit(dir / "huge.png", png_declaring(w, h));
    const auto error = error_of([&] { read_image(dir / "huge.png"); });
    EXPECT_TRUE(has(error, "huge.png")) << error;
    EXPECT_FALSE(has(error, "(no error)"));
  }
  spit(dir / "huge.png", png_declaring(30000, 30000));
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "huge.png"); }), "declares 30000x30000 pixels"));
  // JPEG: whole reads, truncated does not.
  const std::string jpeg = jpeg_bytes(pattern(16, 8, 2));
  spit(dir / "good.jpg", jpeg);
  EXPECT_EQ(read_image(dir / "good.jpg").width, 16);
  spit(dir / "cut.jpg", jpeg.substr(0, jpeg.size() - 40));
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "cut.jpg"); }), "truncated or corrupted JPEG"));
  spit(dir / "head.jpg", jpeg.substr(0, 30));
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "head.jpg"); }), "truncated or corrupted JPEG"));
  // A Huffman table whose 16 counts add up to 300 codes: stb 2.27 wrote past its
  // 257-entry table on it (found by fuzz_image); libjpeg refuses it. Inserted right after SOI.
  std::string table = "\xff\xc4\x01\x3f\x00\xff\x2d"s + std::string(14, '\0') + std::string(300, '\x01');
  spit(dir / "dht.jpg", jpeg.substr(0, 2) + table + jpeg.substr(2));
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "dht.jpg"); }), "Bogus Huffman table definition"));
  // A scan using AC table 3, never defined: stb 2.27 decoded with uninitialised
  // memory and read far out of bounds (found by fuzz_image); libjpeg refuses it.
  std::string undefined = jpeg;
  const size_t scan = undefined.find("\xff\xda"s);
  ASSERT_NE(scan, std::string::npos);
  undefined[scan + 6] = '\x03';  // first component's DC/AC selectors: DC 0, AC 3
  spit(dir / "table.jpg", undefined);
  EXPECT_TRUE(has(error_of([&] { read_image(dir / "table.jpg"); }), "was not defined"));
}

// Grey progressive JPEGs with one DC scan and `refinements` + 1 scans per AC
// coefficient: a valid scan script (spectral selection, then successive approximation).
std::string jpeg_with_scans(int refinements) {
  std::vector<jpeg_scan_info> scans;
  scans.push_back({1, {0, 0, 0, 0}, 0, 0, 0, 0});
  for (int k = 1; k <= 63; ++k) {
    scans.push_back({1, {0, 0, 0, 0}, k, k, 0, refinements});
    for (int al = refinements; al > 0; --al) scans.push_back({1, {0, 0, 0, 0}, k, k, al, al - 1});
  }
  hdiff::testing::JpegOptions options;
  options.grey = true;
  options.scans = scans;
  return jpeg_bytes(pattern(16, 16, 5), options);
}

TEST(HostileImages, DecoderRefusesTooManyScans) {
  // Every scan is a pass over all coefficients: a small file of many scans keeps
  // libjpeg busy for minutes on a large image, so more than 500 are refused.
  const fs::path dir = fresh("scans");
  spit(dir / "ok.jpg", jpeg_with_scans(6));  // 1 + 63 * 7 = 442 scans
  EXPECT_EQ(read_image(dir / "ok.jpg").width, 16);
  spit(dir / "many.jpg", jpeg_with_scans(7));  // 1 + 63 * 8 = 505 scans
  const auto error = error_of([&] { read_image(dir / "many.jpg"); });
  EXPECT_TRUE(has(error, "many.jpg") && has(error, "more than 500 scans")) << error;
}

TEST(HostileImages, CorruptHuffmanTablesDoNotAbort) {
  // Found by fuzz_image: with Debian's libstb.so (assertions on) this JPEG aborted
  // the process in stbi__jpeg_huff_decode. It must end as an error or an image
  // (libjpeg-turbo: an error, its quantization table is not defined).
  const std::string jpeg(
    "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x14\x14\x14\xff\xc0\x00\x11"
    "\x08\x00\x04\x03\x00\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xc4\x01\xa2\x00\x00\x01\x05\x01"
    "\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
    "\x10\x00\x02\x01\x03\x03\x02\x04\x03\x05\x05\x04\x04\x00\x00\x01\x7d\x01\x02\x0b\x00\x04\x11\x05"
    "\x12\x21\x41\x30\x06\x13\x51\x61\x07\x22\x71\x14\x32\x81\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1"
    "\xf0\x24\x33\x62\x72\x82\x09\x0a\x16\x17\x18\x19\x1a\x25\x26\x27\x28\x29\x2a\x34\x35\x36\x37\x38"
    "\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68"
    "\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97"
    "\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4"
    "\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9"
    "\xea\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\x01\x00\x03\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00"
    "\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x11\x00\x02\x01\x02\x04\x04\x03"
    "\x04\x07\x05\x04\x04\x00\x01\x02\x77\x00\x01\x02\x03\x11\x04\x05\x21\x31\x06\x12\x41\x51\x07\x61"
    "\x71\x13\x22\x32\x81\x08\x14\x42\x91\xa1\xb1\xc1\x09\x23\x33\x52\xf0\x15\x62\x72\xd1\x0a\x16\x24"
    "\x34\xe1\x25\xf1\x17\x18\x00\x01\x00\x14\x14\x14\xff\xc0\x00\x11\x08\x00\x04\x03\x00\x03\x01\x47"
    "\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x67\x64\x68\x69\x66\x65\x63\x6a\x73\x74\x75\x76\x77"
    "\x78\x79\x7a\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4"
    "\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xa7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca"
    "\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf2\xf3\xf4\xf5\xf6\xf7"
    "\xf8\xf9\xfa\xff\xda\x00\x0c\x03\x01\x00\x02\x31\x03\x11\x00\x3f\x00\xad\xad\x59\x41\xa8\x42\xa4"
    "\xa7\x39\xa7\xcf\x1e\x6b\x28\xa8\x59\x2d\x74\x5e\xf3\x3f\xff\xd9",
      496);
  const fs::path p = fresh("huffman") / "f.jpg";
  spit(p, jpeg);
  try {
    const Image image = read_image(p);
    EXPECT_GT(image.width, 0);
  } catch (const hdiff::Error& e) {
    EXPECT_TRUE(has(e.what(), "f.jpg")) << e.what();
  }
}

TEST(HostileImages, SameStemTwiceIsRefused) {
  const fs::path dir = fresh("stems");
  write_png(dir / "a.png", pattern(4, 4, 1));
  spit(dir / "a.jpg", jpeg_bytes(pattern(4, 4, 2)));
  const auto error = error_of([&] { list_images(dir); });
  EXPECT_TRUE(has(error, "a.jpg") && has(error, "a.png") && has(error, "one output name")) << error;
}

TEST(HostileImages, BadImageInAFolderLeavesNoOutput) {
  const fs::path dir = fresh("folder");
  const std::string png = [&] {
    write_png(dir / "probe.png", pattern(40, 36, 1));
    const std::string bytes = read_text(dir / "probe.png");
    fs::remove(dir / "probe.png");
    return bytes;
  }();
  const std::pair<std::string, std::string> bad[] = {
      {png.substr(0, png.size() / 2), "truncated"},
      {"garbage that ends in .png", "neither a PNG nor a JPEG"},
      {png_declaring(65536, 32768), "declares 65536x32768 pixels"},
      {png_declaring(30000, 30000), "declares 30000x30000 pixels"},
  };
  for (const auto& [bytes, problem] : bad) {
    fs::remove_all(dir / "in");
    fs::create_directories(dir / "in");
    // Good images sort before and after the bad one: nothing may be written for them either.
    write_png(dir / "in" / "a.png", pattern(40, 36, 1));
    spit(dir / "in" / "b.png", bytes);
    write_png(dir / "in" / "c.png", pattern(36, 40, 2));
    const auto r = run_hdiff(forward_backward("--input in"), dir);
    expect_one_line_error(r, {"b.png", problem});
    EXPECT_FALSE(fs::exists(dir / "out")) << problem;
  }
  spit(dir / "in" / "b.jpg", jpeg_bytes(pattern(8, 8, 3)));
  fs::remove(dir / "in" / "b.png");
  write_png(dir / "in" / "b.png", pattern(40, 36, 4));
  expect_one_line_error(run_hdiff(forward_backward("--input in"), dir), {"b.jpg", "b.png", "one output name"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(HostileImages, ResumeRedoesDamagedOutputs) {
  const fs::path dir = fresh("resume");
  fs::create_directories(dir / "in");
  write_png(dir / "in" / "a.png", pattern(40, 36, 1));
  write_png(dir / "in" / "b.png", pattern(36, 40, 2));
  ASSERT_EQ(run_hdiff(forward_backward("--input in"), dir).exit_code, 0);
  const std::string a = read_text(dir / "out" / "k1" / "a.png");
  // A killed run can leave a truncated or empty file: neither counts as done.
  spit(dir / "out" / "k1" / "a.png", a.substr(0, a.size() / 2));
  spit(dir / "out" / "k1" / "b.png", "");
  spit(dir / "out" / "start" / "a.png", "");
  const auto r = run_hdiff(forward_backward("--input in"), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "wrote 2 outputs")) << r.out;
  EXPECT_EQ(read_text(dir / "out" / "k1" / "a.png"), a);
  EXPECT_EQ(read_image(dir / "out" / "k1" / "b.png").width, 32);
  EXPECT_EQ(read_image(dir / "out" / "start" / "a.png").width, 32);
}

TEST(HostileImages, NaNNeverReachesASample) {
  const fs::path dir = fresh("nan");
  // x0 of shape [1, 3, 32, 32] as safetensors, one element NaN.
  std::vector<float> x(3 * 32 * 32, 0.25f);
  x[100] = NAN;
  const std::string header = R"({"x0":{"dtype":"F32","shape":[1,3,32,32],"data_offsets":[0,12288]}})";
  const uint64_t n = header.size();
  spit(dir / "x.safetensors", std::string(reinterpret_cast<const char*>(&n), 8) + header +
                                  std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  expect_one_line_error(run_hdiff(forward_backward("--input-tensor x.safetensors:x0"), dir),
                        {"x.safetensors", "'x0' holds NaN or infinity (element 100)"});
  EXPECT_FALSE(fs::exists(dir / "out"));
  expect_one_line_error(run_hdiff(forward_backward("--input-tensor x.safetensors:x0 --ddim --eta nan"), dir),
                        {"--eta must lie in [0, 1]"});
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(HostileImages, ExperimentWithAnUnreadableCheckpointWritesNothing) {
  const fs::path dir = fresh("experiment");
  fs::create_directories(dir / "start");
  write_png(dir / "start" / "a.png", pattern(40, 36, 1));
  spit(dir / "broken.pt", "PK\x03\x04 this is not a zip archive"s);
  const auto file = [&](const fs::path& checkpoint) {
    return "[diffusion]\ncheckpoint = \"" + checkpoint.string() + "\"\nmodel = \"" + (kAdm / "config.json").string() +
           "\"\nsteps = 4\nbatch_size = 2\n[classifier]\ncheckpoint = \"" +
           (kFixtures / "convnext" / "model.pt").string() +
           "\"\nbatch_size = 2\n[images]\nstart = \"start\"\n[run]\nk = [1]\nseed = 3\ndevice = \"cpu\"\n";
  };
  spit(dir / "exp.toml", file(dir / "broken.pt"));
  expect_one_line_error(run_hdiff("images experiment --config exp.toml --out out", dir), {"broken.pt"});
  EXPECT_FALSE(fs::exists(dir / "out"));
  // The corrected file is then run, not refused as "a different experiment".
  spit(dir / "exp.toml", file(kAdm / "model.pt"));
  const auto r = run_hdiff("images experiment --config exp.toml --out out", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}
