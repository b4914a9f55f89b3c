/**
 * Entity-type colours shared by every plot and the entity highlighter, plus the small bits of
 * colour science used to pick readable text colours and to test that the palette stays
 * distinguishable (WCAG contrast, CIELAB distance, colour-vision-deficiency simulation).
 *
 * The palette is Okabe & Ito's "Color Universal Design" set (2008): eight colours chosen to
 * stay distinct for protanopes, deuteranopes and tritanopes. The most frequent GMB types get
 * the lighter, most separated hues; the rarest (`nat`, ~200 entities) gets the black.
 *
 * @module
 */

/** An sRGB colour as `[r, g, b]` with channels in 0–255. */
export type Rgb = [number, number, number];

/** A CIELAB colour as `[L*, a*, b*]` (D65 white). */
export type Lab = [number, number, number];

/**
 * Colours of the eight GMB entity types (Okabe–Ito palette), shared by all plots and
 * {@link highlightEntities}. Keys are lower-case type names.
 */
export const ENTITY_COLORS: Readonly<Record<string, string>> = Object.freeze({
  geo: "#56B4E9", // sky blue
  gpe: "#009E73", // bluish green
  per: "#E69F00", // orange
  org: "#CC79A7", // reddish purple
  tim: "#F0E442", // yellow
  art: "#D55E00", // vermillion
  eve: "#0072B2", // blue
  nat: "#000000", // black
});

/** Colour of the `O` tag and of entity types without a palette entry (light grey). */
export const OTHER_COLOR = "#BBBBBB";

/** Outline drawn around coloured marks so light fills (yellow) stay visible on white. */
export const OUTLINE_COLOR = "#333333";

/**
 * The entity type of an IOB/IOB2 tag: `B-per` → `per`, `I-geo` → `geo`, `per` → `per`;
 * `O` and padding tags give `null`.
 */
export function entityTypeOfTag(tag: string): string | null {
  const match = /^(?:[BIES]-)?([A-Za-z]+)$/.exec(tag);
  if (match === null || tag === "O" || tag.toUpperCase() === "PAD") return null;
  return match[1].toLowerCase();
}

/** The palette colour of an entity type (case-insensitive), or {@link OTHER_COLOR}. */
export function entityColor(type: string | null, colors = ENTITY_COLORS): string {
  if (type === null) return OTHER_COLOR;
  return colors[type.toLowerCase()] ?? OTHER_COLOR;
}

/** Parses `#rgb` or `#rrggbb` into 0–255 channels; throws on anything else. */
export function hexToRgb(hex: string): Rgb {
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex);
  const full = short === null
    ? hex
    : `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}`;
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(full);
  if (match === null) throw new Error(`not a hex colour: ${hex}`);
  return [parseInt(match[1], 16), parseInt(match[2], 16), parseInt(match[3], 16)];
}

/** sRGB channel (0–255) to linear light (0–1). */
function toLinear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG 2 relative luminance of a hex colour, in [0, 1]. */
export function relativeLuminance(hex: string): number {
  const [r, g, b] = hexToRgb(hex).map(toLinear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two hex colours, in [1, 21]. */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever contrasts more with `background` (a hex colour). */
export function readableTextColor(background: string): "#000000" | "#FFFFFF" {
  return contrastRatio(background, "#000000") >= contrastRatio(background, "#FFFFFF")
    ? "#000000"
    : "#FFFFFF";
}

/** Kinds of colour-vision deficiency {@link simulateCvd} can simulate. */
export type CvdKind = "protanopia" | "deuteranopia" | "tritanopia";

/** Machado, Oliveira & Fernandes (2009) simulation matrices, severity 1, on linear RGB. */
const CVD_MATRICES: Record<CvdKind, number[][]> = {
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  tritanopia: [
    [1.255528, -0.076749, -0.178779],
    [-0.078411, 0.930809, 0.147602],
    [0.004733, 0.691367, 0.3039],
  ],
};

/** Linear RGB (0–1) to CIELAB, D65 white. */
function linearToLab([r, g, b]: number[]): Lab {
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/**
 * The CIELAB coordinates of a hex colour, optionally as seen with a colour-vision deficiency
 * (simulated with the Machado et al. 2009 matrices at full severity).
 */
export function toLab(hex: string, cvd?: CvdKind): Lab {
  const linear = hexToRgb(hex).map(toLinear);
  if (cvd === undefined) return linearToLab(linear);
  const simulated = CVD_MATRICES[cvd].map((row) =>
    Math.min(1, Math.max(0, row[0] * linear[0] + row[1] * linear[1] + row[2] * linear[2]))
  );
  return linearToLab(simulated);
}

/** CIE76 colour difference ΔE*ab (Euclidean distance in CIELAB; ~2.3 is just noticeable). */
export function deltaE(a: Lab, b: Lab): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}
