"""An independent reader of TensorBoard event files for TensorBoardWriterTest: TFRecord framing with masked CRC32C
(computed here, bit by bit from the Castagnoli polynomial) and Event messages decoded by the protobuf library from
the vendored event.proto (compiled with protoc into the directory given as the second argument).

Prints one JSON object per event: {"step", "wall_time", "file_version"} or {"step", "wall_time", "scalars": {...}}.
Exits with status 2 naming the record on any framing or CRC error."""
import json
import struct
import sys

sys.path.insert(0, sys.argv[2])
import event_pb2  # noqa: E402

POLY = 0x82F63B78  # CRC32C, reflected


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (POLY if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    pos = 0
    index = 0
    while pos < len(raw):
        if pos + 12 > len(raw):
            print("record %d: truncated header" % index, file=sys.stderr)
            sys.exit(2)
        header = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", raw[pos + 8:pos + 12])
        if length_crc != masked(header):
            print("record %d: length CRC mismatch" % index, file=sys.stderr)
            sys.exit(2)
        data = raw[pos + 12:pos + 12 + length]
        if len(data) != length or pos + 16 + length > len(raw):
            print("record %d: truncated" % index, file=sys.stderr)
            sys.exit(2)
        (data_crc,) = struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(data):
            print("record %d: data CRC mismatch" % index, file=sys.stderr)
            sys.exit(2)
        event = event_pb2.Event()
        event.ParseFromString(data)
        out = {"step": event.step, "wall_time": event.wall_time}
        if event.WhichOneof("what") == "file_version":
            out["file_version"] = event.file_version
        elif event.WhichOneof("what") == "summary":
            out["scalars"] = {v.tag: v.simple_value for v in event.summary.value}
        print(json.dumps(out))
        pos += 16 + length
        index += 1


main()
