/**
 * Code points: what a user counts as characters (not UTF-16 units, which count an emoji as
 * two). Message limits and reply offsets are in code points.
 */
export const codePoints = (text: string) => [...text].length;
