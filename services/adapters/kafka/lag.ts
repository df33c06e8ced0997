// Consumer lag per partition: the end of the log minus the group's committed offset.
import type { Admin } from 'kafkajs';

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export async function consumerLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const lags: PartitionLag[] = [];
  for (const { topic, partitions } of committed) {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p] as const));
    for (const { partition, offset } of partitions) {
      const end = ends.get(partition);
      if (!end) continue;
      // -1: nothing committed yet; the group will start at the beginning of what is retained.
      const from = offset === '-1' ? Number(end.low) : Number(offset);
      lags.push({ topic, partition, lag: Math.max(0, Number(end.high) - from) });
    }
  }
  return lags;
}
