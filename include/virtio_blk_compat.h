/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences between the kernels virtio_blk is built for
 * (Debian 6.1 and 6.12), so that the driver itself reads like code for
 * the newest of them.  Every choice is a compile-time check of the API
 * actually present in the headers, never of a version number.
 */
#ifndef VIRTIO_BLK_COMPAT_H
#define VIRTIO_BLK_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

/*
 * Queue limits: 6.9+ hands a struct queue_limits to blk_mq_alloc_disk();
 * 6.11+ carries the write cache as a feature flag and updates it
 * atomically.  BLK_FEAT_WRITE_CACHE marks both.
 */
#ifdef BLK_FEAT_WRITE_CACHE

static inline struct gendisk *
compat_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
		  void *queuedata)
{
	return blk_mq_alloc_disk(set, lim, queuedata);
}

static inline int compat_set_write_cache(struct request_queue *q, bool wc)
{
	struct queue_limits lim = queue_limits_start_update(q);
	int err;

	if (wc)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	else
		lim.features &= ~BLK_FEAT_WRITE_CACHE;
	blk_mq_freeze_queue(q);
	err = queue_limits_commit_update(q, &lim);
	blk_mq_unfreeze_queue(q);
	return err;
}

#else

static inline void compat_apply_limits(struct request_queue *q,
				       const struct queue_limits *lim)
{
	blk_queue_logical_block_size(q, lim->logical_block_size);
	blk_queue_physical_block_size(q, lim->physical_block_size);
	blk_queue_alignment_offset(q, lim->alignment_offset);
	blk_queue_io_min(q, lim->io_min);
	blk_queue_io_opt(q, lim->io_opt);
	blk_queue_max_hw_sectors(q, lim->max_hw_sectors);
	blk_queue_max_segments(q, lim->max_segments);
	blk_queue_max_segment_size(q, lim->max_segment_size);
	blk_queue_max_discard_sectors(q, lim->max_hw_discard_sectors);
	blk_queue_max_secure_erase_sectors(q, lim->max_secure_erase_sectors);
	if (lim->max_discard_segments)
		blk_queue_max_discard_segments(q, lim->max_discard_segments);
	q->limits.discard_granularity = lim->discard_granularity;
	blk_queue_max_write_zeroes_sectors(q, lim->max_write_zeroes_sectors);
}

static inline struct gendisk *
compat_alloc_disk(struct blk_mq_tag_set *set, struct queue_limits *lim,
		  void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);

	if (!IS_ERR(disk))
		compat_apply_limits(disk->queue, lim);
	return disk;
}

static inline int compat_set_write_cache(struct request_queue *q, bool wc)
{
	blk_queue_write_cache(q, wc, false);
	return 0;
}

#endif /* BLK_FEAT_WRITE_CACHE */

/*
 * 6.11+ makes a queue non-rotational unless the driver sets
 * BLK_FEAT_ROTATIONAL; before, every queue started rotational.
 */
#ifdef BLK_FEAT_ROTATIONAL
static inline void compat_lim_rotational(struct queue_limits *lim)
{
	lim->features |= BLK_FEAT_ROTATIONAL;
}
#else
static inline void compat_lim_rotational(struct queue_limits *lim)
{
}
#endif

/*
 * virtio_find_vqs() takes an array of struct virtqueue_info from 6.11 on;
 * before, parallel arrays of callbacks and names.  No macro marks the
 * change: drivers/block/Kbuild looks for the struct in the headers.
 */
#ifndef COMPAT_FIND_VQS_ARRAYS

static inline int compat_find_vqs(struct virtio_device *vdev,
				  unsigned int nvqs, struct virtqueue *vqs[],
				  struct virtqueue_info vqs_info[],
				  struct irq_affinity *desc)
{
	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, desc);
}

#else /* COMPAT_FIND_VQS_ARRAYS */

struct virtqueue_info {
	const char *name;
	vq_callback_t *callback;
	bool ctx;
};

static inline int compat_find_vqs(struct virtio_device *vdev,
				  unsigned int nvqs, struct virtqueue *vqs[],
				  struct virtqueue_info vqs_info[],
				  struct irq_affinity *desc)
{
	vq_callback_t **callbacks;
	const char **names;
	unsigned int i;
	int err = -ENOMEM;

	callbacks = kmalloc_array(nvqs, sizeof(*callbacks), GFP_KERNEL);
	names = kmalloc_array(nvqs, sizeof(*names), GFP_KERNEL);
	if (callbacks && names) {
		for (i = 0; i < nvqs; i++) {
			callbacks[i] = vqs_info[i].callback;
			names[i] = vqs_info[i].name;
		}
		err = virtio_find_vqs(vdev, nvqs, vqs, callbacks, names, desc);
	}
	kfree(names);
	kfree(callbacks);
	return err;
}

#endif /* COMPAT_FIND_VQS_ARRAYS */

/*
 * ->queue_rqs() takes a struct rq_list (head and tail) from 6.12 on;
 * before, the head pointer of a singly linked list.  The driver works on
 * struct compat_rq_list through the helpers below and declares its
 * callback with COMPAT_QUEUE_RQS(), which on older kernels wraps it in an
 * adapter with the old signature.  No macro marks the change:
 * drivers/block/Kbuild looks for the struct in the headers.
 */
#ifndef COMPAT_QUEUE_RQS_REQUEST_PTR

#define compat_rq_list rq_list

static inline void compat_rq_list_init(struct rq_list *rl)
{
	rq_list_init(rl);
}

static inline bool compat_rq_list_empty(struct rq_list *rl)
{
	return rq_list_empty(rl);
}

static inline struct request *compat_rq_list_pop(struct rq_list *rl)
{
	return rq_list_pop(rl);
}

static inline void compat_rq_list_add_tail(struct rq_list *rl,
					   struct request *rq)
{
	rq_list_add_tail(rl, rq);
}

#define COMPAT_QUEUE_RQS(name, fn)				\
static void name(struct rq_list *rqlist)			\
{								\
	fn(rqlist);						\
}

#else /* COMPAT_QUEUE_RQS_REQUEST_PTR */

struct compat_rq_list {
	struct request *head;
	struct request *tail;
};

static inline void compat_rq_list_init(struct compat_rq_list *rl)
{
	rl->head = NULL;
	rl->tail = NULL;
}

static inline bool compat_rq_list_empty(struct compat_rq_list *rl)
{
	return !rl->head;
}

static inline struct request *compat_rq_list_pop(struct compat_rq_list *rl)
{
	struct request *rq = rl->head;

	if (rq) {
		rl->head = rq->rq_next;
		if (!rl->head)
			rl->tail = NULL;
		rq->rq_next = NULL;
	}
	return rq;
}

static inline void compat_rq_list_add_tail(struct compat_rq_list *rl,
					   struct request *rq)
{
	rq->rq_next = NULL;
	if (rl->tail)
		rl->tail->rq_next = rq;
	else
		rl->head = rq;
	rl->tail = rq;
}

/* the block layer's list keeps no tail: pop only, then hand back a head */
#define COMPAT_QUEUE_RQS(name, fn)				\
static void name(struct request **rqlist)			\
{								\
	struct compat_rq_list rl = { .head = *rqlist };		\
								\
	fn(&rl);						\
	*rqlist = rl.head;					\
}

#endif /* COMPAT_QUEUE_RQS_REQUEST_PTR */

/*
 * register_virtio_driver() fills in the module owner since it became a
 * macro; older kernels expect the driver to set it.
 */
#ifdef register_virtio_driver
static inline int compat_register_virtio_driver(struct virtio_driver *drv)
{
	return register_virtio_driver(drv);
}
#else
static inline int compat_register_virtio_driver(struct virtio_driver *drv)
{
	drv->driver.owner = THIS_MODULE;
	return register_virtio_driver(drv);
}
#endif

/*
 * Sysctl tables are sized by register_sysctl() since it became a macro
 * (6.6); older kernels stop at an empty sentinel entry, which newer ones
 * reject.
 */
#ifdef register_sysctl
#define COMPAT_CTL_TABLE_END
#else
#define COMPAT_CTL_TABLE_END { }
#endif

#endif /* VIRTIO_BLK_COMPAT_H */
