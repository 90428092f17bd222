import Foundation

// The safetensors format (Hugging Face's, as `safetensors.torch` reads and writes it): an
// 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
// byte range, then the raw little-endian data. TapeGrad reads and writes every dtype it has
// (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL), the bytes as they are. A truncated or
// malformed file is an error, never a crash.

/// Reading and writing state dicts as safetensors files.
public enum SafeTensors {
    /// The tensors of a safetensors file, in the order of their data, as a state dict
    /// (`safetensors.torch.load_file`). Throws for unreadable, truncated or malformed files
    /// and for dtypes TapeGrad does not have.
    public static func load(contentsOf path: String) throws(TapeGradError) -> StateDict {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .runtime("No such file or directory: \(path)")
        }
        return try load(data: data)
    }

    /// The tensors of safetensors bytes, as a state dict.
    public static func load(data: Data) throws(TapeGradError) -> StateDict {
        try loadWithMetadata(data: data).tensors
    }

    /// The tensors and the `__metadata__` strings of safetensors bytes (one read of the header).
    static func loadWithMetadata(data: Data) throws(TapeGradError) -> (tensors: StateDict, metadata: [String: String]) {
        let bytes = [UInt8](data)
        do {
            return try bytes.withUnsafeBytes { raw in try decode(raw) }
        } catch let error as TapeGradError {
            throw error
        } catch {
            throw .runtime("\(error)")
        }
    }

    private struct HeaderEntry {
        var name: String
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    private static func headerError(_ what: String) -> TapeGradError {
        .runtime("Error while deserializing header: \(what)")
    }

    private static func decode(_ raw: UnsafeRawBufferPointer) throws(TapeGradError) -> (tensors: StateDict, metadata: [String: String]) {
        guard raw.count >= 8 else { throw headerError("HeaderTooSmall") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(raw[i]) << (8 * UInt64(i)) }
        guard length <= 100_000_000 else { throw headerError("HeaderTooLarge") }
        let headerLength = Int(length)
        guard headerLength <= raw.count - 8 else { throw headerError("InvalidHeaderLength") }
        let headerBytes = Data(raw[8..<(8 + headerLength)])
        guard let json = try? JSONSerialization.jsonObject(with: headerBytes),
              let header = json as? [String: Any] else {
            throw headerError("InvalidHeaderDeserialization")
        }
        var entries: [HeaderEntry] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any],
                  let dtype = info["dtype"] as? String,
                  let shape = integers(info["shape"]),
                  let offsets = integers(info["data_offsets"]), offsets.count == 2 else {
                throw headerError("InvalidHeaderDeserialization")
            }
            entries.append(HeaderEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        let dataStart = 8 + headerLength
        let dataLength = raw.count - dataStart
        var expectedBegin = 0
        var result: [StateDictEntry] = []
        for entry in entries {
            guard entry.begin == expectedBegin, entry.end >= entry.begin else { throw headerError("InvalidOffset(\"\(entry.name)\")") }
            guard entry.shape.count <= Dims.maxRank, entry.shape.allSatisfy({ $0 >= 0 }) else {
                throw headerError("TensorInvalidInfo")
            }
            let (count, overflow) = entry.shape.reduce((1, false)) { acc, size in
                let (product, o) = acc.0.multipliedReportingOverflow(by: size)
                return (product, acc.1 || o)
            }
            guard let dtype = DType(safeTensorsCode: entry.dtype) else {
                let known = DType.allCases.map(\.safeTensorsCode).joined(separator: ", ")
                throw .runtime("TapeGrad: safetensors dtype \(entry.dtype) of \"\(entry.name)\" is not supported (\(known) are)")
            }
            let itemSize = dtype.itemSize
            let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: itemSize)
            guard !overflow, !bytesOverflow, bytes == entry.end - entry.begin else {
                throw headerError("TensorInvalidInfo")
            }
            guard entry.end <= dataLength else { throw headerError("MetadataIncompleteBuffer") }
            expectedBegin = entry.end
            let source = raw.baseAddress.unsafelyUnwrapped + dataStart + entry.begin
            let e = engine
            let tensor = e.pointee.makeTensor(shape: Dims(entry.shape), dtype: dtype)
            let target = e.pointee.rawBase(tensor)
            if dtype == .bool {
                // Any nonzero byte is true (a Swift `Bool` must hold 0 or 1).
                for i in 0..<count { target.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self) }
            } else {
                // Little-endian values of the tensor's own type: the bytes as they are.
                target.copyMemory(from: source, byteCount: bytes)
            }
            result.append(StateDictEntry(name: entry.name, tensor: tensor))
        }
        guard expectedBegin == dataLength else { throw headerError("MetadataIncompleteBuffer") }
        return (StateDict(result), header["__metadata__"] as? [String: String] ?? [:])
    }

    /// A JSON array of whole numbers.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let items = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in items {
            guard let number = item as? NSNumber else { return nil }
            let d = number.doubleValue
            guard d == d.rounded(), Swift.abs(d) < 9e15 else { return nil }
            result.append(Int(d))
        }
        return result
    }

    /// The bytes of a safetensors file holding `stateDict`'s tensors, in its order
    /// (`safetensors.torch.save`), each in its own dtype (float32 as F32, int64 as I64, …).
    public static func encode(_ stateDict: StateDict, metadata: [String: String] = [:]) throws(TapeGradError) -> Data {
        var header = "{"
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }
            header += "\"__metadata__\":{\(fields.joined(separator: ","))},"
        }
        var offset = 0
        var names = Set<String>()
        var parts: [String] = []
        for entry in stateDict.entries {
            guard names.insert(entry.name).inserted else { throw .runtime("TapeGrad: the name \"\(entry.name)\" appears twice in the state dict") }
            let dtype = entry.tensor.dtype.safeTensorsCode
            let size = entry.tensor.count * entry.tensor.dtype.itemSize
            let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
            parts.append("\(quote(entry.name)):{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        let e = engine
        for entry in stateDict.entries {
            let values = e.memory.contiguousOperand(entry.tensor)
            data.append(contentsOf: UnsafeRawBufferPointer(start: e.pointee.rawBase(values), count: entry.tensor.count * entry.tensor.dtype.itemSize))
        }
        return data
    }

    /// Writes `stateDict` to a safetensors file at `path` (`safetensors.torch.save_file`).
    public static func save(_ stateDict: StateDict, to path: String, metadata: [String: String] = [:]) throws(TapeGradError) {
        let data = try encode(stateDict, metadata: metadata)
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw .runtime("TapeGrad: cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// A JSON string literal.
    private static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension Module {
    /// Loads parameters and buffers from a safetensors file (`load_state_dict(load_file(path))`);
    /// errors name the missing, unexpected and mis-shaped entries.
    public func loadSafeTensors(_ path: String, strict: Bool = true) throws(TapeGradError) {
        try withStep { () throws(TapeGradError) in
            try loadStateDict(try SafeTensors.load(contentsOf: path), strict: strict)
        }
    }

    /// Saves the state dict to a safetensors file (`save_file(model.state_dict(), path)`).
    public func saveSafeTensors(_ path: String) throws(TapeGradError) {
        try SafeTensors.save(stateDict(), to: path)
    }
}

extension DType {
    /// The dtype's name in safetensors headers (`F32`, `I64`, `BOOL`, …).
    var safeTensorsCode: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .bool: "BOOL"
        case .int64: "I64"
        case .int32: "I32"
        case .int16: "I16"
        case .int8: "I8"
        case .uint8: "U8"
        }
    }

    /// The dtype a safetensors header names, if TapeGrad has it.
    init?(safeTensorsCode code: String) {
        guard let dtype = DType.allCases.first(where: { $0.safeTensorsCode == code }) else { return nil }
        self = dtype
    }
}
