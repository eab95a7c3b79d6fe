// Asks onnxruntime for the element types of intermediate tensors: the graph is loaded once with those
// tensors added as untyped outputs, and the session's metadata says what they are. The splitter's fallback
// for operators its own type rules do not know.
import * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import { encodeModel, type ModelProto, onnx } from '../onnx/builder.js';

const TYPE_CODES: Record<string, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  int16: onnx.TensorProto.DataType.INT16,
  int8: onnx.TensorProto.DataType.INT8,
  uint8: onnx.TensorProto.DataType.UINT8,
  uint16: onnx.TensorProto.DataType.UINT16,
  uint32: onnx.TensorProto.DataType.UINT32,
  uint64: onnx.TensorProto.DataType.UINT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Element types (ONNX enum) of `names`, as onnxruntime infers them for `model`. */
export async function probeElemTypes(model: ModelProto, names: readonly string[], where: string): Promise<Map<string, number>> {
  const graph = model.graph ?? {};
  const probe: ModelProto = { ...model, graph: { ...graph, output: [...(graph.output ?? []), ...names.map((name) => ({ name }))] } };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(probe), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  } catch (e) {
    throw new ModelError(`${where}: cannot split: onnxruntime could not infer the types of ${names.join(', ')} (${(e as Error).message.split('\n')[0]})`);
  }
  try {
    const out = new Map<string, number>();
    for (const meta of session.outputMetadata) {
      if (!names.includes(meta.name)) continue;
      const code = meta.isTensor ? TYPE_CODES[meta.type] : undefined;
      if (code === undefined) throw new ModelError(`${where}: cannot split: ${meta.name} crossing a stage boundary is not a plain tensor`);
      out.set(meta.name, code);
    }
    return out;
  } finally {
    await session.release();
  }
}
