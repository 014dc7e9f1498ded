import CErasureSIMD
import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Caller buffers handed to worker threads. The caller keeps them alive and unaliased for the whole call.
struct ShardPointers: @unchecked Sendable {
  var inputs: [UnsafeRawPointer]
  var outputs: [UnsafeMutableRawPointer]
}

extension ShardPlan {
  /// Bytes of one chunk: the scratch slots plus the streamed inputs/outputs should stay in the L2 cache.
  func chunkSize(shardSize: Int) -> Int {
    let touched = max(1, tempCount + outputCount + min(inputCount, 64))
    var chunk = (256 * 1024 / touched) & ~63
    chunk = max(chunk, 512)
    // Bound scratch memory for very large transforms.
    chunk = min(chunk, max(64, ((64 << 20) / max(1, tempCount)) & ~63))
    return min(chunk, shardSize)
  }

  /// Runs the plan over bytes `0 ..< shardSize` of every slot, on up to `concurrency` threads.
  func run(_ pointers: ShardPointers, shardSize: Int, isa: Int32, concurrency: Int) {
    if ops.isEmpty { return }
    let chunk = chunkSize(shardSize: shardSize)
    let units = shardSize / 64
    // At least 16 KiB per worker, otherwise threading costs more than it saves.
    let workers = max(1, min(concurrency, shardSize / (16 * 1024), units))
    if workers == 1 {
      run(pointers, range: 0..<shardSize, chunk: chunk, isa: isa)
      return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      let lo = units * w / workers * 64
      let hi = units * (w + 1) / workers * 64
      run(pointers, range: lo..<hi, chunk: chunk, isa: isa)
    }
  }

  /// Runs the plan over one byte range, chunk by chunk, on the calling thread.
  func run(_ pointers: ShardPointers, range: Range<Int>, chunk: Int, isa: Int32) {
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, tempCount * chunk), alignment: 64)
    defer { scratch.deallocate() }
    let slots = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: slotCount)
    defer { slots.deallocate() }
    for t in 0..<tempCount { slots[inputCount + outputCount + t] = scratch + t * chunk }
    let wide = self.wide
    ops.withUnsafeBufferPointer { ops in
      multipliers.withUnsafeBytes { mults in
        let mbase = mults.baseAddress ?? UnsafeRawPointer(scratch)
        var offset = range.lowerBound
        while offset < range.upperBound {
          let n = min(chunk, range.upperBound - offset)
          for i in 0..<inputCount { slots[i] = UnsafeMutableRawPointer(mutating: pointers.inputs[i] + offset) }
          for o in 0..<outputCount { slots[inputCount + o] = pointers.outputs[o] + offset }
          for op in ops {
            let a = slots[Int(op.a)]
            let b = slots[Int(op.b)]
            let m = mbase + Int(op.mult)
            switch op.kind {
            case .copy: memcpy(a, b, n)
            case .zero: memset(a, 0, n)
            case .xor: cer_xor(isa, a, b, n)
            case .mul: wide ? cer_gf16_mul(isa, a, b, m, n) : cer_gf8_mul(isa, a, b, m, n)
            case .muladd: wide ? cer_gf16_muladd(isa, a, b, m, n) : cer_gf8_muladd(isa, a, b, m, n)
            case .ifft: wide ? cer_gf16_ifft(isa, a, b, m, n) : cer_gf8_ifft(isa, a, b, m, n)
            case .fft: wide ? cer_gf16_fft(isa, a, b, m, n) : cer_gf8_fft(isa, a, b, m, n)
            }
          }
          offset += n
        }
      }
    }
  }
}
