/** The broker's producer-id allocator: ids from controller blocks, one block request at a time. */
import { expect } from 'chai';
import { errorResult } from '../../src/metadata/errors.js';
import { ProducerIdAllocator } from '../../src/metadata/producer-id-allocator.js';
import type { AllocateProducerIdsResponse } from '../../src/metadata/rpc.js';

describe('ProducerIdAllocator', () => {
  it('hands out ids from successive blocks, asking once for concurrent callers', async () => {
    const answers: AllocateProducerIdsResponse[] = [{ firstProducerId: 100, count: 2 }, { firstProducerId: 500, count: 2 }];
    let asked = 0;
    const allocator = new ProducerIdAllocator(async () => {
      const answer = answers[asked++];
      if (answer === undefined) throw new Error('no more blocks');
      return answer;
    });
    const ids = await Promise.all([allocator.take(), allocator.take(), allocator.take()]);
    expect(ids).to.deep.equal([
      { producerId: 100, producerEpoch: 0 },
      { producerId: 101, producerEpoch: 0 },
      { producerId: 500, producerEpoch: 0 },
    ]);
    expect(asked).to.equal(2);
    expect(await allocator.take()).to.deep.equal({ producerId: 501, producerEpoch: 0 });
    await allocator.take().then(
      () => expect.fail('a failed block request must reject'),
      (e: Error) => expect(e.message).to.equal('no more blocks'),
    );
  });

  it('passes on the controller\'s error and asks again next time', async () => {
    const answers: AllocateProducerIdsResponse[] = [errorResult('NOT_CONTROLLER'), { firstProducerId: 7, count: 1 }];
    const allocator = new ProducerIdAllocator(async () => answers.shift() ?? errorResult('NOT_CONTROLLER'));
    expect(await allocator.take()).to.include({ error: 'NOT_CONTROLLER' });
    expect(await allocator.take()).to.deep.equal({ producerId: 7, producerEpoch: 0 });
  });
});
