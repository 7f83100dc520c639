/**
 * Score fusion of two recognizers (entry.recognizer `{kind: fusion, members, weight}`): both
 * describe the same face, one after the other (each onnxruntime session already has the
 * store PC's two cores), and their unit descriptors are joined as [w·a, √(1−w²)·b]. That is
 * a unit descriptor whose squared distance is w²·d_a² + (1−w²)·d_b², so the gallery, the
 * margin rule and the collision check use it as they use any other recognizer's.
 */
import { ModelError } from './errors.ts';
import type { RgbFrame } from './frame.ts';
import type { Point } from './quality.ts';
import { fuseDescriptors, type Recognizer } from './recognizer.ts';

export class FusionRecognizer implements Recognizer {
  readonly kind = 'fusion' as const;
  readonly descriptorLength: number;

  constructor(private readonly members: readonly [Recognizer, Recognizer], private readonly weight: number) {
    if (!(weight > 0 && weight < 1)) {
      throw new ModelError('MODEL_UNLOADABLE', `recognizer fusion: weight ${weight} must lie strictly between 0 and 1 (1 is the first member alone, 0 the second)`, { details: { model: 'fusion' } });
    }
    this.descriptorLength = members[0].descriptorLength + members[1].descriptorLength;
  }

  async describe(frame: RgbFrame, landmarks68: readonly Point[]): Promise<Float32Array> {
    const a = await this.members[0].describe(frame, landmarks68);
    const b = await this.members[1].describe(frame, landmarks68);
    return fuseDescriptors([a, b], this.weight);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}
