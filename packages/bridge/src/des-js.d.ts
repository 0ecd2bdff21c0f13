// des.js ships no types: the part of its API the bridge uses (ECB triple DES, no padding).
declare module 'des.js' {
  interface Cipher {
    update(data: ArrayLike<number>): number[];
    final(): number[];
  }
  const des: {
    EDE: { create(options: { type: 'encrypt' | 'decrypt'; key: ArrayLike<number>; padding?: boolean }): Cipher };
  };
  export default des;
}
