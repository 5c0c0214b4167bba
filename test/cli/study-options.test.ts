import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { checkOutputSettings, describeStudyModel, StudyTrainArgs, validateStudyTrainArgs } from '../../src/cli/commands/study-options';

const args = (over: Partial<StudyTrainArgs> = {}): StudyTrainArgs => ({
  arch: 'unetplusplus', encoder: 'vgg19', out: 'x', lr: 1e-4, batch: 2, sigma: 2, loss: 'mse', 'width-multiplier': 1, 'val-fraction': 0.1,
  seed: 0, ep: 'cpu', overlays: 0, quiet: true, ...over,
});

describe('lmk cv / lmk study settings', () => {
  test('--arch and --encoder pick any Table 1 cell; DeepLabV3 with VGG19 is refused in one line', () => {
    expect(validateStudyTrainArgs(args({ arch: 'deeplabv3', encoder: 'efficientnet-b7' }))).toMatchObject({ arch: 'deeplabv3', encoder: 'efficientnet-b7' });
    expect(() => validateStudyTrainArgs(args({ arch: 'deeplabv3', encoder: 'vgg19' }))).toThrow(/deeplabv3 is not defined for encoder vgg19/);
  });

  test('the report heading names the model', () => {
    const settings = validateStudyTrainArgs(args({ arch: 'unet', encoder: 'resnext101_32x8d', 'width-multiplier': 0.25, steps: 3 }));
    expect(describeStudyModel(settings, 'scratch')).toBe('unet / resnext101_32x8d, width 0.25, mse loss, 3 steps, init scratch');
    expect(describeStudyModel({ ...settings, steps: undefined, grid: { height: 512, width: 368 } }, 'imagenet:w.safetensors'))
      .toBe('unet / resnext101_32x8d, width 0.25, grid 512x368, mse loss, up to 200 epochs, init imagenet:w.safetensors');
  });

  test('a rerun into the same folder must use the settings of the runs already there', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lmk-settings-'));
    const first = validateStudyTrainArgs(args({ steps: 10 }));
    await checkOutputSettings(out, first, { init: 'scratch', seed: 0 });
    expect(JSON.parse(readFileSync(join(out, 'settings.json'), 'utf8'))).toMatchObject({ arch: 'unetplusplus', encoder: 'vgg19', steps: 10 });
    await expect(checkOutputSettings(out, first, { init: 'scratch', seed: 0 })).resolves.toBeUndefined();
    const other = validateStudyTrainArgs(args({ steps: 10, encoder: 'resnext101_32x8d' }));
    await expect(checkOutputSettings(out, other, { init: 'scratch', seed: 0 })).rejects.toThrow(
      `${join(out, 'settings.json')}: the runs in this folder were made with encoder "vgg19" (now "resnext101_32x8d"); use another --out, or the same settings to resume`,
    );
    await expect(checkOutputSettings(out, first, { init: 'scratch', seed: 1 })).rejects.toThrow(/seed 0 \(now 1\)/);
    writeFileSync(join(out, 'settings.json'), '{ broken');
    await expect(checkOutputSettings(out, first, { init: 'scratch', seed: 0 })).rejects.toThrow(/settings\.json: not readable JSON/);
  });
});
