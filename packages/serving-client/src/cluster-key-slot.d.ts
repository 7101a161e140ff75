// cluster-key-slot (the CRC16 of Redis Cluster that ioredis itself uses) ships no types.
declare module "cluster-key-slot" {
  /** The hash slot (0..16383) of a key, honouring `{hash tags}`. */
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
