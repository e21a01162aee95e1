/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of virtio_blk: the completion path's decisions.  Each event
 * matches one increment of a per-queue debugfs counter (see
 * Documentation/virtio-blk-iopoll.rst), so that a trace adds up to the
 * counters over the same window.
 *
 * Included by drivers/block/virtio_blk.c only, after its structures; the
 * events take a struct vblk_vq.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM virtio_blk

#ifndef _VIRTIO_BLK_TRACE_DEFS
#define _VIRTIO_BLK_TRACE_DEFS

#include <linux/string.h>

/* Disk names are "vd" and at most four letters: VBLK_MAX_DISKS */
#define VBLK_TRACE_DISK_LEN	8

/* What an interrupt did (virtio_blk_irq.action) */
#define VBLK_TRACE_IRQ_INLINE	0	/* completed here: iopoll off */
#define VBLK_TRACE_IRQ_GATED	1	/* completed here: gate shut */
#define VBLK_TRACE_IRQ_POLLER	2	/* handed the ring to the poller */
#define VBLK_TRACE_IRQ_LOST	3	/* swallowed by fault injection */

/* How a poller run ended (virtio_blk_poll.outcome) */
#define VBLK_TRACE_POLL_MORE	0	/* full weight: stays scheduled */
#define VBLK_TRACE_POLL_REARM	1	/* drained, callbacks on */
#define VBLK_TRACE_POLL_DEFER	2	/* drained, callbacks off, timer */
#define VBLK_TRACE_POLL_FALLBACK 3	/* deferred run found too little */
#define VBLK_TRACE_POLL_GATE	4	/* drained, gate shut: re-armed */
#define VBLK_TRACE_POLL_PROBE	5	/* drained, re-armed as a probe */
#define VBLK_TRACE_POLL_EXPLORE	6	/* drained, gate shut: deferred to see */

/* The disk's name and the queue's index, the fields every event starts with */
static inline void vblk_trace_queue(const struct vblk_vq *bvq, char *disk,
				    unsigned int *queue)
{
	strscpy(disk, bvq->vblk->disk->disk_name, VBLK_TRACE_DISK_LEN);
	*queue = bvq - bvq->vblk->vqs;
}

#endif /* _VIRTIO_BLK_TRACE_DEFS */

#if !defined(_VIRTIO_BLK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VIRTIO_BLK_TRACE_H

#include <linux/tracepoint.h>

/* One per debugfs "interrupts"; GATED ones are "inline_irqs" */
TRACE_EVENT(virtio_blk_irq,
	    TP_PROTO(const struct vblk_vq *bvq, unsigned int action,
		     unsigned int completed),
	    TP_ARGS(bvq, action, completed),
	    TP_STRUCT__entry(__array(char, disk, VBLK_TRACE_DISK_LEN)
			     __field(unsigned int, queue)
			     __field(unsigned int, action)
			     __field(unsigned int, completed)),
	    TP_fast_assign(vblk_trace_queue(bvq, __entry->disk,
					    &__entry->queue);
			   __entry->action = action;
			   __entry->completed = completed;),
	    TP_printk("disk=%s queue=%u action=%s completed=%u",
		      __entry->disk, __entry->queue,
		      __print_symbolic(__entry->action,
				       { VBLK_TRACE_IRQ_INLINE, "inline" },
				       { VBLK_TRACE_IRQ_GATED, "gated" },
				       { VBLK_TRACE_IRQ_POLLER, "poller" },
				       { VBLK_TRACE_IRQ_LOST, "lost" }),
		      __entry->completed)
);

/* One per debugfs "kicks"; inflight: requests on the ring */
TRACE_EVENT(virtio_blk_kick,
	    TP_PROTO(const struct vblk_vq *bvq),
	    TP_ARGS(bvq),
	    TP_STRUCT__entry(__array(char, disk, VBLK_TRACE_DISK_LEN)
			     __field(unsigned int, queue)
			     __field(unsigned int, inflight)),
	    TP_fast_assign(vblk_trace_queue(bvq, __entry->disk,
					    &__entry->queue);
			   __entry->inflight = bvq->mod.inflight;),
	    TP_printk("disk=%s queue=%u inflight=%u",
		      __entry->disk, __entry->queue, __entry->inflight)
);

#ifdef CONFIG_VIRTIO_BLK_IOPOLL

/*
 * One per debugfs "polls".  MORE ones are "budget_exhausted", DEFER
 * "deferrals", FALLBACK "fallbacks", GATE "gate_rearms"; delay_ns is the
 * deferral's delay (0 otherwise).
 */
TRACE_EVENT(virtio_blk_poll,
	    TP_PROTO(const struct vblk_vq *bvq, int completed, int weight,
		     unsigned int outcome, u64 delay_ns),
	    TP_ARGS(bvq, completed, weight, outcome, delay_ns),
	    TP_STRUCT__entry(__array(char, disk, VBLK_TRACE_DISK_LEN)
			     __field(unsigned int, queue)
			     __field(int, completed)
			     __field(int, weight)
			     __field(unsigned int, outcome)
			     __field(u64, delay_ns)),
	    TP_fast_assign(vblk_trace_queue(bvq, __entry->disk,
					    &__entry->queue);
			   __entry->completed = completed;
			   __entry->weight = weight;
			   __entry->outcome = outcome;
			   __entry->delay_ns = delay_ns;),
	    TP_printk("disk=%s queue=%u completed=%d weight=%d outcome=%s delay_ns=%llu",
		      __entry->disk, __entry->queue, __entry->completed,
		      __entry->weight,
		      __print_symbolic(__entry->outcome,
				       { VBLK_TRACE_POLL_MORE, "more" },
				       { VBLK_TRACE_POLL_REARM, "rearm" },
				       { VBLK_TRACE_POLL_DEFER, "defer" },
				       { VBLK_TRACE_POLL_FALLBACK, "fallback" },
				       { VBLK_TRACE_POLL_GATE, "gate" },
				       { VBLK_TRACE_POLL_PROBE, "probe" },
				       { VBLK_TRACE_POLL_EXPLORE, "explore" }),
		      __entry->delay_ns)
);

DECLARE_EVENT_CLASS(virtio_blk_queue,
		    TP_PROTO(const struct vblk_vq *bvq),
		    TP_ARGS(bvq),
		    TP_STRUCT__entry(__array(char, disk, VBLK_TRACE_DISK_LEN)
				     __field(unsigned int, queue)),
		    TP_fast_assign(vblk_trace_queue(bvq, __entry->disk,
						    &__entry->queue);),
		    TP_printk("disk=%s queue=%u", __entry->disk, __entry->queue)
);

/* One per debugfs "rearm_races": the poller goes round again */
DEFINE_EVENT(virtio_blk_queue, virtio_blk_rearm_race,
	     TP_PROTO(const struct vblk_vq *bvq),
	     TP_ARGS(bvq)
);

/* One per debugfs "timer_polls": a deferral's timer scheduled the poller */
DEFINE_EVENT(virtio_blk_queue, virtio_blk_defer_expired,
	     TP_PROTO(const struct vblk_vq *bvq),
	     TP_ARGS(bvq)
);

#endif /* CONFIG_VIRTIO_BLK_IOPOLL */

#endif /* _VIRTIO_BLK_TRACE_H */

/*
 * define_trace.h includes this file again as "./virtio_blk_trace.h": the
 * object's flags carry -I$(src) (drivers/block/Kbuild out of tree, the
 * Makefile line that scripts/intree.sh adds in a tree).
 */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE virtio_blk_trace
#include <trace/define_trace.h>
