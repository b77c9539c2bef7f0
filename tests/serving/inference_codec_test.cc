#include "serving/inference_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ferry::serving {
namespace {

using nlohmann::json;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A v2 body: `header` JSON followed by `binary` bytes; the header length goes beside it.
struct BinaryBody {
  std::string body;
  size_t header_length;
};
BinaryBody WithBinary(const std::string& header, const std::string& binary) {
  return {header + binary, header.size()};
}

template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

std::string BytesElements(std::initializer_list<std::string> values) {
  std::string out;
  for (const std::string& v : values) {
    const uint32_t length = static_cast<uint32_t>(v.size());
    out.append(reinterpret_cast<const char*>(&length), 4);
    out.append(v);
  }
  return out;
}

std::string Input(const std::string& name, const std::string& shape, const std::string& type,
                  const std::string& data) {
  return R"({"name":")" + name + R"(","shape":)" + shape + R"(,"datatype":")" + type + R"(","data":)" +
         data + "}";
}
std::string BinaryInput(const std::string& name, const std::string& shape, const std::string& type,
                        size_t size) {
  return R"({"name":")" + name + R"(","shape":)" + shape + R"(,"datatype":")" + type +
         R"(","parameters":{"binary_data_size":)" + std::to_string(size) + "}}";
}
std::string Request(const std::vector<std::string>& inputs) {
  std::string body = R"({"inputs":[)";
  for (size_t i = 0; i < inputs.size(); ++i) body += (i ? "," : "") + inputs[i];
  return body + "]}";
}

// ---------------------------------------------------------------------------------------
// Datatypes

TEST(DataTypeTest, EveryNameParsesBackToItsType) {
  for (int t = 0; t <= static_cast<int>(DataType::kBytes); ++t) {
    const auto type = static_cast<DataType>(t);
    EXPECT_EQ(ParseDataType(DataTypeName(type)), type) << DataTypeName(type);
  }
  EXPECT_EQ(ParseDataType("fp32"), std::nullopt);
  EXPECT_EQ(ParseDataType("FP8"), std::nullopt);
}

struct ColumnCase {
  std::string datatype;
  std::string data;  // JSON list of 3
  std::vector<double> numbers;
  std::vector<int64_t> integers;  // empty: not exact
  std::vector<std::string> strings;
};

class V2ColumnTest : public testing::TestWithParam<ColumnCase> {};

TEST_P(V2ColumnTest, EveryDatatypeDecodesIntoAColumn) {
  const ColumnCase& c = GetParam();
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[3]", c.datatype, c.data)}), std::nullopt, {}, frame).ok());
  ASSERT_EQ(frame.columns.size(), 1u);
  const Column& column = frame.columns[0];
  EXPECT_EQ(frame.rows, 3u);
  EXPECT_TRUE(frame.matrix.empty());
  EXPECT_EQ(column.name, "x");
  EXPECT_EQ(DataTypeName(column.datatype), c.datatype);
  EXPECT_EQ(column.is_string, !c.strings.empty());
  EXPECT_EQ(column.numbers, c.numbers);
  EXPECT_EQ(column.integers, c.integers);
  EXPECT_EQ(column.strings, c.strings);
  EXPECT_EQ(column.present, std::vector<uint8_t>(3, 1));
}

INSTANTIATE_TEST_SUITE_P(
    AllJsonTypes, V2ColumnTest,
    testing::Values(
        ColumnCase{"BOOL", "[true,false,true]", {1, 0, 1}, {1, 0, 1}, {}},
        ColumnCase{"UINT8", "[0,255,7]", {0, 255, 7}, {0, 255, 7}, {}},
        ColumnCase{"UINT16", "[0,65535,7]", {0, 65535, 7}, {0, 65535, 7}, {}},
        ColumnCase{"UINT32", "[0,4294967295,7]", {0, 4294967295.0, 7}, {0, 4294967295LL, 7}, {}},
        ColumnCase{"UINT64", "[0,9223372036854775807,1]", {0, 9223372036854775807.0, 1},
                   {0, 9223372036854775807LL, 1}, {}},
        ColumnCase{"UINT64", "[0,18446744073709551615,1]", {0, 18446744073709551615.0, 1}, {}, {}},
        ColumnCase{"INT8", "[-128,127,0]", {-128, 127, 0}, {-128, 127, 0}, {}},
        ColumnCase{"INT16", "[-32768,32767,0]", {-32768, 32767, 0}, {-32768, 32767, 0}, {}},
        ColumnCase{"INT32", "[-2147483648,2147483647,0]", {-2147483648.0, 2147483647, 0},
                   {-2147483648LL, 2147483647, 0}, {}},
        ColumnCase{"INT64", "[-9223372036854775808,9007199254740993,1]",
                   {-9223372036854775808.0, 9007199254740993.0, 1},
                   {std::numeric_limits<int64_t>::min(), 9007199254740993LL, 1}, {}},
        ColumnCase{"FP32", "[1.5,-2,0.25]", {1.5, -2, 0.25}, {}, {}},
        ColumnCase{"FP64", "[1e300,-2,0.1]", {1e300, -2, 0.1}, {}, {}},
        ColumnCase{"BYTES", R"(["a","","\u00fc\n"])", {}, {}, {"a", "", "\xC3\xBC\n"}}));

// ---------------------------------------------------------------------------------------
// Shapes: one matrix, one tensor per feature

TEST(V2DecodeTest, OneRowMatrixTensorFillsTheMatrix) {
  std::string data = "[";
  for (int i = 0; i < 30; ++i) data += (i ? "," : "") + std::to_string(i) + ".5";
  data += "]";
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("features", "[1,30]", "FP32", data)}), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.rows, 1u);
  EXPECT_EQ(frame.matrix_name, "features");
  EXPECT_EQ(frame.width, 30u);
  ASSERT_EQ(frame.matrix.size(), 30u);
  EXPECT_FLOAT_EQ(frame.matrix[29], 29.5f);
  EXPECT_TRUE(frame.columns.empty());
}

TEST(V2DecodeTest, FlatAndNestedDataGiveTheSameMatrix) {
  RequestFrame flat, nested;
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[2,3]", "FP64", "[1,2,3,4,5,6]")}), std::nullopt, {}, flat).ok());
  ASSERT_TRUE(
      DecodeV2Request(Request({Input("x", "[2,3]", "FP64", "[[1,2,3],[4,5,6]]")}), std::nullopt, {}, nested).ok());
  EXPECT_EQ(flat.matrix, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(nested.matrix, flat.matrix);
  EXPECT_EQ(nested.width, 3u);
}

TEST(V2DecodeTest, OneTensorPerFeatureGivesColumnsInInputOrder) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("amount", "[2]", "FP32", "[9.5,1]"),
                                       Input("customer_id", "[2,1]", "INT64", "[[42],[43]]"),
                                       Input("country", "[2]", "BYTES", R"(["DE","FR"])")}),
                              std::nullopt, {}, frame)
                  .ok());
  EXPECT_EQ(frame.rows, 2u);
  EXPECT_TRUE(frame.matrix_name.empty());
  ASSERT_EQ(frame.columns.size(), 3u);
  EXPECT_EQ(frame.columns[0].name, "amount");
  EXPECT_EQ(frame.columns[1].name, "customer_id");
  EXPECT_EQ(frame.columns[1].integers, (std::vector<int64_t>{42, 43}));
  EXPECT_EQ(frame.columns[2].strings, (std::vector<std::string>{"DE", "FR"}));
}

TEST(V2DecodeTest, MatrixBesideColumns) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("customer_id", "[2]", "INT64", "[1,2]"),
                                       Input("x", "[2,2]", "INT32", "[[1,2],[3,4]]")}),
                              std::nullopt, {}, frame)
                  .ok());
  EXPECT_EQ(frame.matrix_name, "x");
  EXPECT_EQ(frame.matrix, (std::vector<float>{1, 2, 3, 4}));
  ASSERT_EQ(frame.columns.size(), 1u);
  EXPECT_EQ(frame.columns[0].integers, (std::vector<int64_t>{1, 2}));
}

TEST(V2DecodeTest, ASoleRowsByOneInputIsAMatrixAndASoleFlatInputAColumn) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[3,1]", "FP32", "[1,2,3]")}), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.matrix_name, "x");
  EXPECT_EQ(frame.width, 1u);
  EXPECT_TRUE(frame.columns.empty());
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[3]", "FP32", "[1,2,3]")}), std::nullopt, {}, frame).ok());
  EXPECT_TRUE(frame.matrix_name.empty());
  EXPECT_EQ(frame.columns.size(), 1u);
}

TEST(V2DecodeTest, MatrixConversionToFloatAcceptsWideValues) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[1,2]", "FP64", "[1e300,-1e300]")}), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.matrix[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(frame.matrix[1], -std::numeric_limits<float>::infinity());
  ASSERT_TRUE(DecodeV2Request(Request({Input("x", "[1,2]", "INT64", "[16777217,1]")}), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.matrix[0], 16777216.0f);
}

TEST(V2DecodeTest, IdParametersOutputsAndUnknownKeys) {
  RequestFrame frame;
  const std::string body =
      R"({"id":"r1","model":"ignored","parameters":{"binary_data_output":true,"other":1},)"
      R"("inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],"parameters":{"content_type":"np"}}],)"
      R"("outputs":[{"name":"predict"},{"name":"proba","parameters":{"binary_data":false}}]})";
  ASSERT_TRUE(DecodeV2Request(body, std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.id, "r1");
  EXPECT_TRUE(frame.binary_output_default);
  EXPECT_EQ(frame.outputs, (std::vector<std::string>{"predict", "proba"}));
  EXPECT_EQ(frame.binary_outputs, (std::vector<bool>{true, false}));
}

// ---------------------------------------------------------------------------------------
// Binary tensor extension

TEST(V2BinaryTest, EveryKindOfBinaryInputDecodes) {
  const std::string header =
      Request({BinaryInput("m", "[2,2]", "FP32", 16), BinaryInput("d", "[2]", "FP64", 16),
               Input("json", "[2]", "INT32", "[7,8]"), BinaryInput("i", "[2]", "INT64", 16),
               BinaryInput("b", "[2]", "BOOL", 2), BinaryInput("s", "[2]", "BYTES", 4 + 3 + 4 + 0),
               BinaryInput("h", "[2]", "FP16", 4), BinaryInput("u", "[2,1]", "UINT16", 4)});
  const std::string binary = Bytes<float>({1, 2, 3, 4}) + Bytes<double>({0.5, -0.25}) +
                             Bytes<int64_t>({-5, int64_t{1} << 60}) + std::string("\x01\x00", 2) +
                             BytesElements({"abc", ""}) + Bytes<uint16_t>({0x3C00, 0xC000}) +
                             Bytes<uint16_t>({65535, 1});
  const BinaryBody b = WithBinary(header, binary);
  RequestFrame frame;
  const absl::Status status = DecodeV2Request(b.body, b.header_length, {}, frame);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(frame.matrix_name, "m");
  EXPECT_EQ(frame.matrix, (std::vector<float>{1, 2, 3, 4}));
  ASSERT_EQ(frame.columns.size(), 7u);
  EXPECT_EQ(frame.columns[0].numbers, (std::vector<double>{0.5, -0.25}));
  EXPECT_EQ(frame.columns[1].integers, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(frame.columns[2].integers, (std::vector<int64_t>{-5, int64_t{1} << 60}));
  EXPECT_EQ(frame.columns[3].integers, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(frame.columns[4].strings, (std::vector<std::string>{"abc", ""}));
  EXPECT_EQ(frame.columns[5].numbers, (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(frame.columns[6].integers, (std::vector<int64_t>{65535, 1}));
}

TEST(V2BinaryTest, BytesElementsMayHoldAnyBytes) {
  const std::string raw("\x00\xff\"", 3);
  const BinaryBody b = WithBinary(Request({BinaryInput("s", "[1]", "BYTES", 7)}), BytesElements({raw}));
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(b.body, b.header_length, {}, frame).ok());
  EXPECT_EQ(frame.columns[0].strings[0], raw);
}

struct ErrorCase {
  std::string body;
  std::optional<size_t> header_length;
  absl::StatusCode code;
  std::string message;  // a part of the message
};

// Failing cases show the message they expect, not their bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.message; }
void PrintTo(const ColumnCase& c, std::ostream* os) { *os << c.datatype << " " << c.data; }

class V2ErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(V2ErrorTest, IsRefusedWithAMessageSayingWhy) {
  const ErrorCase& c = GetParam();
  RequestFrame frame;
  const absl::Status status = DecodeV2Request(c.body, c.header_length, Limits{}, frame);
  EXPECT_EQ(status.code(), c.code) << status;
  EXPECT_NE(Message(status).find(c.message), std::string::npos) << status;
}

ErrorCase Binary(const std::string& header, const std::string& binary, const std::string& message) {
  const BinaryBody b = WithBinary(header, binary);
  return {b.body, b.header_length, absl::StatusCode::kInvalidArgument, message};
}
ErrorCase Invalid(const std::string& body, const std::string& message) {
  return {body, std::nullopt, absl::StatusCode::kInvalidArgument, message};
}
ErrorCase InvalidInput(const std::string& shape, const std::string& type, const std::string& data,
                       const std::string& message) {
  return Invalid(Request({Input("x", shape, type, data)}), message);
}

INSTANTIATE_TEST_SUITE_P(
    Binary, V2ErrorTest,
    testing::Values(
        Binary(Request({BinaryInput("x", "[3]", "FP32", 8)}), Bytes<float>({1, 2}),
               "input \"x\": binary_data_size 8 does not match shape [3] of FP32 (12 bytes)"),
        Binary(Request({BinaryInput("x", "[2]", "FP32", 8)}), Bytes<float>({1}),
               "input \"x\": binary_data_size 8 exceeds the 4 bytes left in the body"),
        Binary(Request({BinaryInput("x", "[1]", "FP32", 4)}), Bytes<float>({1, 2}),
               "4 bytes follow the JSON header that no input's binary_data_size accounts for"),
        Binary(Request({Input("x", "[1]", "FP32", "[1]")}), "xx", "2 bytes follow the JSON header"),
        Binary(Request({BinaryInput("s", "[2]", "BYTES", 7)}), BytesElements({"abc"}),
               "input \"s\": binary BYTES element 1 is cut short"),
        Binary(Request({BinaryInput("s", "[1]", "BYTES", 9)}), BytesElements({"abc"}) + "xx",
               "input \"s\": binary_data_size 9 leaves 2 bytes after its 1 BYTES elements"),
        Binary(Request({BinaryInput("s", "[1]", "BYTES", 5)}), BytesElements({"abc"}).substr(0, 5),
               "input \"s\": binary BYTES element 0 is cut short"),
        ErrorCase{"{}", 10, absl::StatusCode::kInvalidArgument,
                  "Inference-Header-Content-Length 10 is larger than the body (2 bytes)"},
        Invalid(Request({BinaryInput("x", "[1]", "FP32", 4)}),
                "input \"x\": binary_data_size is given but the request has no Inference-Header-Content-Length"),
        Invalid(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],)"
                R"("parameters":{"binary_data_size":4}}]})",
                "input \"x\": both \"data\" and \"binary_data_size\""),
        Invalid(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":-1}}]})",
                "input \"x\": \"binary_data_size\" must be a non-negative integer")));

INSTANTIATE_TEST_SUITE_P(
    Values, V2ErrorTest,
    testing::Values(
        InvalidInput("[3]", "INT32", "[1,2.5,3]", "input \"x\" element 1: expected an integer (got 2.5)"),
        InvalidInput("[2]", "INT32", "[1,1.0]", "input \"x\" element 1: expected an integer"),
        InvalidInput("[2]", "UINT8", "[1,-1]", "input \"x\" element 1: negative value for an unsigned type"),
        InvalidInput("[2]", "UINT64", "[1,-7]", "input \"x\" element 1: negative value for an unsigned type"),
        InvalidInput("[2]", "UINT8", "[1,256]", "input \"x\" element 1: out of range (got 256)"),
        InvalidInput("[1]", "INT8", "[-129]", "input \"x\" element 0: out of range"),
        InvalidInput("[1]", "INT32", "[2147483648]", "out of range"),
        InvalidInput("[1]", "INT64", "[9223372036854775808]", "input \"x\" element 0: out of range"),
        InvalidInput("[1]", "UINT32", "[4294967296]", "out of range"),
        InvalidInput("[2]", "FP32", R"([1,"2"])", "input \"x\" element 1: expected a number for FP32 (got \"2\")"),
        InvalidInput("[1]", "FP32", "[1e39]", "input \"x\" element 0: out of range for FP32"),
        InvalidInput("[1]", "FP64", "[true]", "expected a number for FP64"),
        InvalidInput("[2]", "FP32", "[1,null]", "input \"x\" element 1: null is not allowed in v2 data"),
        InvalidInput("[1]", "BOOL", "[1]", "input \"x\" element 0: expected true or false for BOOL"),
        InvalidInput("[1]", "BYTES", "[1]", "input \"x\" element 0: expected a string for BYTES"),
        InvalidInput("[1]", "INT32", "[true]", "expected an integer"),
        InvalidInput("[1]", "FP16", "[1.0]", "input \"x\": FP16 data must be sent as binary data"),
        InvalidInput("[2,2]", "FP32", "[[1,2],[3,4,5]]", "input \"x\": row 1 has 3 values; shape [2, 2] needs 2"),
        InvalidInput("[2,2]", "FP32", "[[1,2]]", "input \"x\": shape [2, 2] has 2 rows, \"data\" has 1"),
        InvalidInput("[2,2]", "FP32", "[[1,2],3]", "input \"x\": row 1: \"data\" mixes lists and values"),
        InvalidInput("[2,2]", "FP32", "[1,[2],3,4]", "input \"x\": element 1: \"data\" mixes lists and values"),
        InvalidInput("[2,2]", "FP32", "[[[1],2],[3,4]]", "\"data\" is nested deeper than shape [2, 2]"),
        InvalidInput("[2]", "FP32", "[[1],[2]]", "input \"x\": \"data\" is nested deeper than shape [2]"),
        InvalidInput("[2,3]", "FP32", "[1,2,3,4,5]", "input \"x\": shape [2, 3] needs 6 values, \"data\" has 5"),
        InvalidInput("[2]", "FP32", "{}", "input \"x\": \"data\" must be a list")));

INSTANTIATE_TEST_SUITE_P(
    Structure, V2ErrorTest,
    testing::Values(
        Invalid(R"({"inputs":[)", "the request is not valid JSON at byte 11"),
        Invalid(R"({"inputs":[1,]})", "the request is not valid JSON"),
        Invalid("[1]", "the request must be a JSON object"),
        Invalid(R"({"id":"r"})", "the request has no \"inputs\""),
        Invalid(R"({"inputs":{}})", "\"inputs\" must be a list"),
        Invalid(R"({"inputs":[]})", "\"inputs\" is empty"),
        Invalid(R"({"inputs":[1]})", "each of \"inputs\" must be an object"),
        Invalid(R"({"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]})", "an input has no \"name\""),
        Invalid(R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})", "input \"x\": no \"datatype\" string"),
        Invalid(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP8","data":[1]}]})",
                "input \"x\": unknown datatype \"FP8\""),
        Invalid(R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})", "input \"x\": no \"shape\""),
        Invalid(R"({"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]})", "input \"x\": no \"data\""),
        InvalidInput("[-1]", "FP32", "[]", "input \"x\": \"shape\" must be a list of non-negative integers"),
        InvalidInput("[1.5]", "FP32", "[]", "\"shape\" must be a list of non-negative integers"),
        InvalidInput("[1,1,1]", "FP32", "[1]", "input \"x\": shape [1,1,1] has more than 2 dimensions"),
        InvalidInput("[]", "FP32", "[1]", "input \"x\": shape [] is a scalar"),
        InvalidInput("[0]", "FP32", "[]", "input \"x\": empty batch"),
        InvalidInput("[0,3]", "FP32", "[]", "empty batch"),
        // Found by fuzz/inference_request: beside other inputs, a [rows, 0] input became a
        // column with no values, which inference then read one value per row from.
        Invalid(Request({Input("a", "[2]", "FP32", "[1,2]"), Input("b", "[2,0]", "FP32", "[]")}),
                "input \"b\": shape [2, 0] has no values per row"),
        InvalidInput("[1,0]", "FP32", "[]", "input \"x\": shape [1, 0] has no values per row"),
        Invalid(Request({Input("a", "[2]", "FP32", "[1,2]"), Input("b", "[3]", "FP32", "[1,2,3]")}),
                "input \"b\": shape [3] has 3 rows but input \"a\" has 2"),
        Invalid(Request({Input("a", "[1,2]", "FP32", "[1,2]"), Input("b", "[1,3]", "FP32", "[1,2,3]")}),
                "input \"b\": a second input of shape [rows, width] (\"a\" is the first)"),
        Invalid(Request({Input("a", "[1]", "FP32", "[1]"), Input("a", "[1]", "FP32", "[2]")}),
                "input \"a\": given twice"),
        Invalid(Request({Input("s", "[1,2]", "BYTES", R"(["a","b"])")}),
                "input \"s\": BYTES data must have shape [rows] or [rows, 1]"),
        Invalid(R"({"id":1,"inputs":[]})", "\"id\" must be a string"),
        Invalid(R"({"parameters":[],"inputs":[]})", "\"parameters\" must be an object"),
        Invalid(R"({"parameters":{"binary_data_output":1},"inputs":[]})", "\"binary_data_output\" must be true or false"),
        Invalid(Request({Input("x", "[1]", "FP32", "[1]")}).insert(1, R"("outputs":[{}],)"),
                "each of \"outputs\" must be an object with a \"name\""),
        Invalid(Request({Input("x", "[1]", "FP32", "[1]")}).insert(1, R"("outputs":[{"name":"p","parameters":{"binary_data":"yes"}}],)"),
                "output \"p\": \"binary_data\" must be true or false")));

TEST(V2DecodeTest, ManyInputsFindADuplicateName) {
  std::vector<std::string> inputs;
  for (int i = 0; i < 40; ++i) inputs.push_back(Input("f" + std::to_string(i), "[1]", "FP32", "[1]"));
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(Request(inputs), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.columns.size(), 40u);
  inputs.push_back(Input("f7", "[1]", "FP32", "[1]"));
  const absl::Status status = DecodeV2Request(Request(inputs), std::nullopt, {}, frame);
  EXPECT_EQ(Message(status), "input \"f7\": given twice");
}

// ---------------------------------------------------------------------------------------
// Limits

struct LimitCase {
  enum class Format { kV1, kV2 } format;
  Limits limits;
  std::string body;
  std::string message;  // the whole message; empty: only the code is checked
};
void PrintTo(const LimitCase& c, std::ostream* os) { *os << c.body; }

Limits With(size_t Limits::*limit, size_t value) {
  Limits limits;
  limits.*limit = value;
  return limits;
}

class LimitsTest : public testing::TestWithParam<LimitCase> {};

TEST_P(LimitsTest, BeyondALimitIsResourceExhaustedNamingTheLimit) {
  const LimitCase& c = GetParam();
  RequestFrame frame;
  const absl::Status status = c.format == LimitCase::Format::kV1
                                  ? DecodeV1Request(c.body, c.limits, frame)
                                  : DecodeV2Request(c.body, std::nullopt, c.limits, frame);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  if (!c.message.empty()) {
    EXPECT_EQ(Message(status), c.message);
  }
}

constexpr auto kV1 = LimitCase::Format::kV1;
constexpr auto kV2 = LimitCase::Format::kV2;

INSTANTIATE_TEST_SUITE_P(
    All, LimitsTest,
    testing::Values(
        LimitCase{kV2, With(&Limits::max_rows, 2), Request({Input("x", "[3]", "FP32", "[1,2,3]")}),
                  "3 rows exceed the limit of 2 rows per request"},
        LimitCase{kV2, With(&Limits::max_elements, 5),
                  Request({Input("a", "[2]", "FP32", "[1,2]"), Input("b", "[2,2]", "FP32", "[1,2,3,4]")}),
                  "input \"b\" takes the request beyond the limit of 5 values"},
        // A huge shape is refused before its data is looked at.
        LimitCase{kV2, With(&Limits::max_elements, 5), Request({Input("a", "[1,4294967296000]", "FP32", "[]")}), ""},
        LimitCase{kV2, With(&Limits::max_inputs, 1),
                  Request({Input("a", "[1]", "FP32", "[1]"), Input("b", "[1]", "FP32", "[1]")}),
                  "2 inputs exceed the limit of 1 inputs per request"},
        LimitCase{kV1, With(&Limits::max_rows, 1), R"({"instances":[[1],[2]]})",
                  "2 instances exceed the limit of 1 rows per request"},
        LimitCase{kV1, With(&Limits::max_elements, 3), R"({"instances":[[1,2],[3,4]]})",
                  "2 instances of 2 values exceed the limit of 3 values per request"},
        LimitCase{kV1, With(&Limits::max_elements, 3), R"({"instances":[{"a":1},{"b":2}]})",
                  "2 instances of 2 fields exceed the limit of 3 values per request"},
        LimitCase{kV1, With(&Limits::max_inputs, 2), R"({"instances":[{"a":1,"b":2,"c":3}]})",
                  "the instances have more than the limit of 2 distinct fields"}));

// ---------------------------------------------------------------------------------------
// v1

TEST(V1DecodeTest, ListsBecomeTheInstancesMatrix) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV1Request(R"({"signature_name":"x","instances":[[1,2.5,true],[4,null,6]]})", {}, frame).ok());
  EXPECT_EQ(frame.rows, 2u);
  EXPECT_EQ(frame.matrix_name, "instances");
  EXPECT_EQ(frame.width, 3u);
  ASSERT_EQ(frame.matrix.size(), 6u);
  EXPECT_EQ(frame.matrix[2], 1.0f);
  EXPECT_TRUE(std::isnan(frame.matrix[4]));
  EXPECT_TRUE(frame.columns.empty());
}

TEST(V1DecodeTest, ObjectsBecomeColumnsInFirstAppearanceOrder) {
  RequestFrame frame;
  const absl::Status status = DecodeV1Request(
      R"({"instances":[{"customer_id":42,"amount":9.5,"note":null},)"
      R"({"amount":1,"customer_id":43,"country":"DE","vip":true},)"
      R"({"country":null,"note":"hi"}]})",
      {}, frame);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(frame.rows, 3u);
  ASSERT_EQ(frame.columns.size(), 5u);
  const Column& id = frame.columns[0];
  EXPECT_EQ(id.name, "customer_id");
  EXPECT_EQ(id.datatype, DataType::kFp64);
  EXPECT_EQ(id.integers, (std::vector<int64_t>{42, 43, 0}));
  EXPECT_EQ(id.present, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_TRUE(std::isnan(id.numbers[2]));
  const Column& amount = frame.columns[1];
  EXPECT_EQ(amount.name, "amount");
  EXPECT_TRUE(amount.integers.empty());  // 9.5
  EXPECT_EQ(amount.numbers[1], 1.0);
  const Column& note = frame.columns[2];
  EXPECT_EQ(note.name, "note");
  EXPECT_TRUE(note.is_string);
  EXPECT_EQ(note.datatype, DataType::kBytes);
  EXPECT_EQ(note.strings, (std::vector<std::string>{"", "", "hi"}));
  EXPECT_EQ(note.present, (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_TRUE(note.numbers.empty());
  const Column& country = frame.columns[3];
  EXPECT_EQ(country.strings, (std::vector<std::string>{"", "DE", ""}));
  EXPECT_EQ(country.present, (std::vector<uint8_t>{0, 1, 0}));
  const Column& vip = frame.columns[4];
  EXPECT_EQ(vip.numbers[1], 1.0);
  EXPECT_EQ(vip.integers, (std::vector<int64_t>{0, 1, 0}));
}

TEST(V1DecodeTest, ManyFieldsInChangingOrder) {
  std::string first = "{", second = "{";
  for (int i = 0; i < 40; ++i) {
    first += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":" + std::to_string(i);
    second += (i ? ",\"f" : "\"f") + std::to_string(39 - i) + "\":" + std::to_string(100 + i);
  }
  RequestFrame frame;
  ASSERT_TRUE(DecodeV1Request(R"({"instances":[)" + first + "}," + second + "}]}", {}, frame).ok());
  ASSERT_EQ(frame.columns.size(), 40u);
  EXPECT_EQ(frame.columns[39].name, "f39");
  EXPECT_EQ(frame.columns[39].integers, (std::vector<int64_t>{39, 100}));
  EXPECT_EQ(frame.columns[0].integers, (std::vector<int64_t>{0, 139}));
}

class V1ErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(V1ErrorTest, IsRefusedWithAMessageSayingWhy) {
  const ErrorCase& c = GetParam();
  RequestFrame frame;
  const absl::Status status = DecodeV1Request(c.body, Limits{}, frame);
  EXPECT_EQ(status.code(), c.code) << status;
  EXPECT_NE(Message(status).find(c.message), std::string::npos) << status;
}

INSTANTIATE_TEST_SUITE_P(
    All, V1ErrorTest,
    testing::Values(
        Invalid(R"({"inputs":[[1]]})", "expected {\"instances\": [...]}"),
        Invalid(R"({"instances":{}})", "expected {\"instances\": [...]}"),
        Invalid(R"([1])", "expected {\"instances\": [...]}"),
        Invalid(R"({"instances":[}")", "the request is not valid JSON"),
        Invalid(R"({"instances":[]})", "empty batch"),
        Invalid(R"({"instances":[1,2]})", "instance 0 must be a list or an object"),
        Invalid(R"({"instances":[[]]})", "instance 0 is an empty list"),
        Invalid(R"({"instances":[[1,2],[3]]})", "instance 1 has 1 values; instance 0 has 2"),
        Invalid(R"({"instances":[[1,2],{"a":1}]})", "instance 1 is not a list like instance 0"),
        Invalid(R"({"instances":[{"a":1},[1]]})", "instance 1 is not an object like instance 0"),
        Invalid(R"({"instances":[[1,"x"]]})", "instance 0 value 1: expected a number (got \"x\")"),
        Invalid(R"({"instances":[[1,[2]]]})", "instance 0 value 1: expected a number"),
        Invalid(R"({"instances":[{"a":1},{"a":"x"}]})",
                "field \"a\" is a string in instance 1 but a number in instance 0"),
        Invalid(R"({"instances":[{"a":null},{"a":"x"},{"a":2}]})",
                "field \"a\" is a number in instance 2 but a string in instance 1"),
        Invalid(R"({"instances":[{"a":[1,2]}]})", "instance 0 field \"a\": nested lists and objects are not supported"),
        Invalid(R"({"instances":[{"a":{"b":1}}]})", "nested lists and objects are not supported"),
        Invalid(R"({"instances":[{"a":1,"a":2}]})", "instance 0 gives field \"a\" twice")));

// ---------------------------------------------------------------------------------------
// Reuse

TEST(ReuseTest, ASmallerSecondRequestLeavesNothingOfTheFirst) {
  RequestFrame frame;
  ASSERT_TRUE(DecodeV2Request(
                  R"({"id":"big","parameters":{"binary_data_output":true},"outputs":[{"name":"p"}],"inputs":[)" +
                      Input("m", "[3,2]", "FP32", "[1,2,3,4,5,6]") + "," + Input("a", "[3]", "INT64", "[1,2,3]") +
                      "," + Input("s", "[3]", "BYTES", R"(["x","y","z"])") + "]}",
                  std::nullopt, {}, frame)
                  .ok());
  ASSERT_EQ(frame.columns.size(), 2u);
  ASSERT_TRUE(DecodeV2Request(Request({Input("b", "[1]", "FP32", "[7]")}), std::nullopt, {}, frame).ok());
  EXPECT_EQ(frame.id, std::nullopt);
  EXPECT_EQ(frame.rows, 1u);
  EXPECT_TRUE(frame.matrix_name.empty());
  EXPECT_EQ(frame.width, 0u);
  EXPECT_TRUE(frame.matrix.empty());
  EXPECT_TRUE(frame.outputs.empty());
  EXPECT_TRUE(frame.binary_outputs.empty());
  EXPECT_FALSE(frame.binary_output_default);
  ASSERT_EQ(frame.columns.size(), 1u);
  const Column& b = frame.columns[0];
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.datatype, DataType::kFp32);
  EXPECT_FALSE(b.is_string);
  EXPECT_EQ(b.numbers, (std::vector<double>{7}));
  EXPECT_TRUE(b.integers.empty());
  EXPECT_TRUE(b.strings.empty());
  EXPECT_EQ(b.present, (std::vector<uint8_t>{1}));

  // And v1 after v2, then v2 after a failed decode.
  ASSERT_TRUE(DecodeV1Request(R"({"instances":[{"k":"v"}]})", {}, frame).ok());
  ASSERT_EQ(frame.columns.size(), 1u);
  EXPECT_EQ(frame.columns[0].strings, (std::vector<std::string>{"v"}));
  EXPECT_TRUE(frame.columns[0].numbers.empty());
  EXPECT_FALSE(DecodeV2Request(Request({Input("x", "[2]", "FP32", "[1,\"a\"]")}), std::nullopt, {}, frame).ok());
  ASSERT_TRUE(DecodeV2Request(Request({Input("y", "[1]", "INT8", "[3]")}), std::nullopt, {}, frame).ok());
  ASSERT_EQ(frame.columns.size(), 1u);
  EXPECT_EQ(frame.columns[0].integers, (std::vector<int64_t>{3}));
}

// ---------------------------------------------------------------------------------------
// Encoders

TEST(EncodeV2Test, JsonOutputsWithIdAndPredictionIds) {
  const std::vector<float> predict = {0.1f, 0.25f};
  const std::vector<float> proba = {0.5f, 0.5f, 1e-8f, 3.4028235e38f};
  const std::vector<std::string> ids = {"p-1", "p-2"};
  const OutputTensor outputs[] = {{"predict", 2, 1, predict, false}, {"proba", 2, 2, proba, false}};
  V2ResponseHead head{"fraud", "3", "r1", ids};
  std::string body = "leftover";
  std::optional<size_t> header_length = 5;
  EncodeV2Response(head, outputs, body, &header_length);
  EXPECT_EQ(header_length, std::nullopt);
  EXPECT_EQ(body,
            R"({"model_name":"fraud","model_version":"3","id":"r1","parameters":{"prediction_ids":["p-1","p-2"]},)"
            R"("outputs":[{"name":"predict","datatype":"FP32","shape":[2],"data":[0.1,0.25]},)"
            R"({"name":"proba","datatype":"FP32","shape":[2,2],"data":[0.5,0.5,1e-08,3.4028235e+38]}]})");
  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["outputs"][1]["data"][3].get<float>(), 3.4028235e38f);
  EXPECT_EQ(parsed["outputs"][0]["data"][0].get<float>(), 0.1f);
}

TEST(EncodeV2Test, OptionalPartsAreLeftOut) {
  const std::vector<float> predict = {1};
  const OutputTensor outputs[] = {{"predict", 1, 1, predict, false}};
  std::string body;
  EncodeV2Response(V2ResponseHead{"m", "", std::nullopt, {}}, outputs, body, nullptr);
  EXPECT_EQ(body, R"({"model_name":"m","outputs":[{"name":"predict","datatype":"FP32","shape":[1],"data":[1]}]})");
}

TEST(EncodeV2Test, BinaryOutputsFollowTheJsonInOutputOrder) {
  const std::vector<float> predict = {1.5f, -2};
  const std::vector<float> proba = {0.25f};
  const std::vector<float> extra = {3};
  const OutputTensor outputs[] = {
      {"predict", 2, 1, predict, true}, {"json", 1, 1, extra, false}, {"proba", 1, 1, proba, true}};
  std::string body;
  std::optional<size_t> header_length;
  EncodeV2Response(V2ResponseHead{"m", "1", std::nullopt, {}}, outputs, body, &header_length);
  ASSERT_TRUE(header_length.has_value());
  const json parsed = json::parse(body.substr(0, *header_length));
  EXPECT_EQ(parsed["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_FALSE(parsed["outputs"][0].contains("data"));
  EXPECT_EQ(parsed["outputs"][1]["data"], json::array({3}));
  EXPECT_EQ(parsed["outputs"][2]["parameters"]["binary_data_size"], 4);
  EXPECT_EQ(body.substr(*header_length), Bytes<float>({1.5f, -2, 0.25f}));

  // What the encoder writes, the decoder reads back.
  RequestFrame frame;
  const std::string request = Request({BinaryInput("predict", "[2]", "FP32", 8), BinaryInput("proba", "[2,1]", "FP16", 4)});
  const absl::Status status = DecodeV2Request(request + body.substr(*header_length), request.size(), {}, frame);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(frame.columns[0].numbers, (std::vector<double>{1.5, -2}));
  EXPECT_EQ(frame.columns[1].numbers.size(), 2u);  // the 4 bytes of proba's 0.25f, read as FP16
}

TEST(EncodeTest, StringsAreEscapedAndInvalidUtf8Replaced) {
  const std::vector<float> values = {std::numeric_limits<float>::quiet_NaN()};
  const OutputTensor outputs[] = {{"a\"b\\c\n\t\x01\x1f/\x7f", 1, 1, values, false}};
  const std::vector<std::string> ids = {"\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80", "bad\xFF\xC3(\xED\xA0\x80\xC0\xAF\xF4\x90\x80\x80!"};
  std::string body;
  EncodeV2Response(V2ResponseHead{"m", "", std::nullopt, ids}, outputs, body, nullptr);
  EXPECT_NE(body.find(R"("name":"a\"b\\c\n\t\u0001\u001f/)" "\x7f\""), std::string::npos) << body;
  EXPECT_NE(body.find(R"("data":[null])"), std::string::npos);
  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["outputs"][0]["name"], "a\"b\\c\n\t\x01\x1f/\x7f");
  EXPECT_EQ(parsed["parameters"]["prediction_ids"][0], "\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80");
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(parsed["parameters"]["prediction_ids"][1], "bad" + r + r + "(" + r + r + r + r + r + r + r + r + r + "!");
}

TEST(EncodeV1Test, NumbersForWidthOneAndListsOtherwise) {
  const std::vector<float> one = {0.5f, 1};
  const std::vector<std::string> ids = {"a", "b"};
  std::string body;
  EncodeV1Response("3", OutputTensor{"p", 2, 1, one, false}, ids, body);
  EXPECT_EQ(body, R"({"predictions":[0.5,1],"model_version":"3","prediction_ids":["a","b"]})");
  const std::vector<float> two = {0.25f, 0.75f, 1, 0};
  EncodeV1Response("", OutputTensor{"p", 2, 2, two, false}, {}, body);
  EXPECT_EQ(body, R"({"predictions":[[0.25,0.75],[1,0]]})");
  EXPECT_EQ(json::parse(body)["predictions"][0][1].get<float>(), 0.75f);
}

}  // namespace
}  // namespace ferry::serving
