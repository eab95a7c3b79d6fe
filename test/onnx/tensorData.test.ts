// floatValues: float32 initializers as they are, float16 ones (fp16 exports) widened, from raw bytes or from
// int32_data (one half per entry, ONNX's non-raw float16 form).
import { describe, expect, it } from 'vitest';
import { DT } from '../../src/onnx/builder.js';
import { floatValues } from '../../src/onnx/tensorData.js';

describe('floatValues', () => {
  const halves = [0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001];
  const values = [1, -2, 0.333251953125, 65504, 2 ** -24];

  it('widens float16 raw bytes exactly', () => {
    const raw = new Uint8Array(new Uint16Array(halves).buffer);
    expect([...floatValues({ name: 'w', dataType: DT.FLOAT16, dims: [5], rawData: raw })]).toEqual(values);
  });

  it('widens float16 int32_data exactly, and names a size mismatch', () => {
    expect([...floatValues({ name: 'w', dataType: DT.FLOAT16, dims: [5], int32Data: halves })]).toEqual(values);
    expect(() => floatValues({ name: 'w', dataType: DT.FLOAT16, dims: [2, 2], rawData: new Uint8Array(6) })).toThrow('initializer w: 6 bytes for 4 float16 values');
  });

  it('other element types are refused with the type named', () => {
    expect(() => floatValues({ name: 'ids', dataType: DT.INT64, dims: [1], rawData: new Uint8Array(8) })).toThrow('initializer ids: expected float32 or float16, got int64');
  });
});
