//! The reference's broad phase for this scene, modelled step by step, because it fixes the order in which
//! Chipmunk solves the contacts.
//!
//! Chipmunk (7.0.3, inside pymunk 6.11) pushes an arbiter onto `space->arbiters` each time its collision callback
//! `cpSpaceCollideShapes` finds a touching pair, and the solver sweeps `space->arbiters` in that order. The
//! callback is driven by `cpBBTreeReindexQuery` on the tree of non-static shapes (here the pusher circle and
//! the two boxes of the T); the static walls live in a second tree. When the pusher and a wall both touch the
//! T, the order of those calls changes from sub-step to sub-step, and so does the result of the sequential
//! impulses. This module reproduces the algorithm of `cpBBTree.c` for these seven shapes:
//!
//! * **Leaves.** Every non-static shape has a leaf whose box is the shape's bounding box fattened by
//!   `GetBB`: 10 % of its width and height on each side, or `0.1 v` (the body's velocity times `0.1f`) on
//!   the side it moves to where that reaches further. Static leaves are not fattened (that tree has no
//!   velocity function).
//! * **Reindex.** Each sub-step, after the positions are integrated, the non-static leaves are visited in the
//!   order of the tree's `leaves` hash set (bins `hashid mod 5`; the shapes' `hashid`s are the space's
//!   own counter, 0..6 in insertion order: walls 0–3, pusher 4, bar 5, stem 6, so the order is bar, stem, pusher).
//!   A leaf whose fattened box no longer contains the shape's box is refattened, removed from the tree
//!   (`SubtreeRemove`), reinserted (`SubtreeInsert`: at each internal node it descends into child `a` unless
//!   `area(a) + merged_area(b, leaf) < area(b) + merged_area(a, leaf)`, ties broken by `cpBBProximity`, and
//!   pairs with the leaf it reaches in a new node `(leaf, old)`), loses all its cached pairs (`PairsClear`) and
//!   takes the current time stamp.
//! * **Marking.** `MarkSubtree` visits the leaves depth first, child `a` before `b`. A leaf stamped now
//!   queries the static tree (calling back at once for every static leaf whose box it touches and caching the
//!   pair) and then, walking up, caches pairs with the leaves of the sibling subtrees on its right (they
//!   call back when visited) and calls back for those on its left (caching the pair unless that leaf was
//!   restamped too). A leaf not stamped now calls back for the cached pairs in which it is the
//!   second leaf, newest first (pairs are prepended to each leaf's list).
//! * **Stamps.** Both trees share the dynamic tree's time stamp, incremented by each insertion and each
//!   reindex.
//!
//! The trees are built as the reference builds them in `_setup()`: the four walls in order, then the pusher at
//! (256, 400) and the T at (256, 300), angle 0, all at rest; `reset` moves the bodies without touching the
//! trees, and the reset sub-step reindexes. [`BroadPhase::reindex_query`] returns the callbacks in order;
//! the caller rejects pairs whose exact boxes do not overlap, pairs of one body and pusher–wall pairs, as
//! `cpSpaceCollideShapes` does, and solves the touching ones in the order found.
//!
//! Checked against the reference by reading its trees out of memory after every sub-step of the 18 replay
//! episodes (`tools/pusht/log_broadphase.py`): same tree shape, leaf boxes, stamps and pair lists at all
//! 10,818 sub-steps, and the same solve order (`post_solve` callback order) at every sub-step.

/// An axis-aligned box `(l, b, r, t)` = (min x, min y, max x, max y) (Chipmunk's `cpBB`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Bb {
    /// Min x.
    pub l: f64,
    /// Min y.
    pub b: f64,
    /// Max x.
    pub r: f64,
    /// Max y.
    pub t: f64,
}

impl Bb {
    /// `cpBBIntersects`.
    #[inline]
    pub fn intersects(&self, o: &Bb) -> bool {
        self.l <= o.r && o.l <= self.r && self.b <= o.t && o.b <= self.t
    }
    /// `cpBBContainsBB`.
    #[inline]
    fn contains(&self, o: &Bb) -> bool {
        self.l <= o.l && self.r >= o.r && self.b <= o.b && self.t >= o.t
    }
    #[inline]
    fn merge(&self, o: &Bb) -> Bb {
        Bb {
            l: self.l.min(o.l),
            b: self.b.min(o.b),
            r: self.r.max(o.r),
            t: self.t.max(o.t),
        }
    }
    #[inline]
    fn area(&self) -> f64 {
        (self.r - self.l) * (self.t - self.b)
    }
    #[inline]
    fn merged_area(&self, o: &Bb) -> f64 {
        (self.r.max(o.r) - self.l.min(o.l)) * (self.t.max(o.t) - self.b.min(o.b))
    }
    /// `cpBBProximity`: the L1 distance between the centres, doubled (breaks ties of the area cost).
    #[inline]
    fn proximity(&self, o: &Bb) -> f64 {
        (self.l + self.r - o.l - o.r).abs() + (self.b + self.t - o.b - o.t).abs()
    }
    /// `GetBB` of a tree with a velocity function: fattened by 10 % of the size, or by `0.1 v`.
    fn fattened(&self, v: (f64, f64)) -> Bb {
        let coef = f64::from(0.1f32);
        let x = (self.r - self.l) * coef;
        let y = (self.t - self.b) * coef;
        let (vx, vy) = (v.0 * coef, v.1 * coef);
        Bb {
            l: self.l + (-x).min(vx),
            b: self.b + (-y).min(vy),
            r: self.r + x.max(vx),
            t: self.t + y.max(vy),
        }
    }
}

/// Shape ids: the pusher, the bar, the stem, then the four walls.
pub const AGENT: u8 = 0;
/// The T's bar.
pub const BAR: u8 = 1;
/// The T's stem.
pub const STEM: u8 = 2;
/// The first wall; wall `w` is `WALL0 + w`.
pub const WALL0: u8 = 3;
/// Number of shapes (leaves).
const LEAVES: usize = 7;
/// Non-static shapes.
const DYNAMIC: usize = 3;
/// Node slots: 7 leaves and at most 2 + 3 internal nodes.
const NODES: usize = 12;
const NIL: u8 = u8::MAX;
/// Most pairs a non-static leaf can hold: two other non-static leaves and four walls.
const MAX_PAIRS: usize = 6;
/// Order of the non-static leaves in the tree's hash set: bins `hashid mod 5` for `hashid` 4 (pusher),
/// 5 (bar), 6 (stem).
const HASH_ORDER: [u8; DYNAMIC] = [BAR, STEM, AGENT];

#[derive(Clone, Copy, Debug)]
struct Node {
    bb: Bb,
    parent: u8,
    a: u8,
    b: u8,
    stamp: u64,
}

const EMPTY: Node = Node {
    bb: Bb {
        l: 0.0,
        b: 0.0,
        r: 0.0,
        t: 0.0,
    },
    parent: NIL,
    a: NIL,
    b: NIL,
    stamp: 0,
};

/// The two bounding-box trees of the reference's space, with their cached pairs and time stamp.
#[derive(Clone, Debug)]
pub struct BroadPhase {
    nodes: [Node; NODES],
    free: [bool; NODES],
    dyn_root: u8,
    static_root: u8,
    stamp: u64,
    /// Cached pairs `(a, b)` of each non-static leaf, newest first.
    pairs: [[(u8, u8); MAX_PAIRS]; DYNAMIC],
    n_pairs: [usize; DYNAMIC],
}

impl BroadPhase {
    /// The trees as `_setup()` leaves them: walls inserted first (static boxes `walls`), then the pusher and
    /// the two boxes of the T with boxes `setup` (`[pusher, bar, stem]`), all bodies at rest.
    pub fn new(walls: [Bb; 4], setup: [Bb; DYNAMIC]) -> Self {
        let mut bp = BroadPhase {
            nodes: [EMPTY; NODES],
            free: [false; NODES],
            dyn_root: NIL,
            static_root: NIL,
            stamp: 0,
            pairs: [[(NIL, NIL); MAX_PAIRS]; DYNAMIC],
            n_pairs: [0; DYNAMIC],
        };
        for f in bp.free[LEAVES..].iter_mut() {
            *f = true;
        }
        for (w, bb) in walls.iter().enumerate() {
            let leaf = WALL0 + w as u8;
            bp.nodes[leaf as usize].bb = *bb;
            bp.static_root = bp.subtree_insert(bp.static_root, leaf);
            bp.nodes[leaf as usize].stamp = bp.stamp;
            // LeafAddPairs: the dynamic tree is still empty
            bp.stamp += 1;
        }
        for (k, bb) in setup.iter().enumerate() {
            let leaf = k as u8;
            bp.nodes[leaf as usize].bb = bb.fattened((0.0, 0.0));
            bp.dyn_root = bp.subtree_insert(bp.dyn_root, leaf);
            bp.nodes[leaf as usize].stamp = bp.stamp;
            // LeafAddPairs: MarkLeaf with a callback that does nothing
            bp.mark_leaf(leaf, &mut |_, _| {});
            bp.stamp += 1;
        }
        bp
    }

    fn alloc(&mut self) -> u8 {
        let i = self.free.iter().position(|&f| f).expect("node slot");
        self.free[i] = false;
        i as u8
    }

    #[inline]
    fn is_leaf(n: u8) -> bool {
        (n as usize) < LEAVES
    }

    fn set_a(&mut self, node: u8, value: u8) {
        self.nodes[node as usize].a = value;
        self.nodes[value as usize].parent = node;
    }

    fn set_b(&mut self, node: u8, value: u8) {
        self.nodes[node as usize].b = value;
        self.nodes[value as usize].parent = node;
    }

    /// `NodeNew(tree, a, b)`.
    fn node_new(&mut self, a: u8, b: u8) -> u8 {
        let n = self.alloc();
        self.nodes[n as usize] = Node {
            bb: self.nodes[a as usize].bb.merge(&self.nodes[b as usize].bb),
            parent: NIL,
            ..EMPTY
        };
        self.set_a(n, a);
        self.set_b(n, b);
        n
    }

    /// `SubtreeInsert`.
    fn subtree_insert(&mut self, subtree: u8, leaf: u8) -> u8 {
        if subtree == NIL {
            return leaf;
        }
        if Self::is_leaf(subtree) {
            return self.node_new(leaf, subtree);
        }
        let s = self.nodes[subtree as usize];
        let leaf_bb = self.nodes[leaf as usize].bb;
        let bb_a = self.nodes[s.a as usize].bb;
        let bb_b = self.nodes[s.b as usize].bb;
        let mut cost_a = bb_b.area() + bb_a.merged_area(&leaf_bb);
        let mut cost_b = bb_a.area() + bb_b.merged_area(&leaf_bb);
        // exact tie, as C's `==` (the costs are sums of the same two areas when both children contain the leaf)
        if cost_a.partial_cmp(&cost_b) == Some(std::cmp::Ordering::Equal) {
            cost_a = bb_a.proximity(&leaf_bb);
            cost_b = bb_b.proximity(&leaf_bb);
        }
        if cost_b < cost_a {
            let nb = self.subtree_insert(s.b, leaf);
            self.set_b(subtree, nb);
        } else {
            let na = self.subtree_insert(s.a, leaf);
            self.set_a(subtree, na);
        }
        let n = &mut self.nodes[subtree as usize];
        n.bb = n.bb.merge(&leaf_bb);
        subtree
    }

    #[inline]
    fn other(&self, node: u8, child: u8) -> u8 {
        let n = self.nodes[node as usize];
        if n.a == child {
            n.b
        } else {
            n.a
        }
    }

    /// `NodeReplaceChild`: `child` of `parent` becomes `value`; the boxes above are recomputed.
    fn replace_child(&mut self, parent: u8, child: u8, value: u8) {
        self.free[child as usize] = true;
        if self.nodes[parent as usize].a == child {
            self.set_a(parent, value);
        } else {
            self.set_b(parent, value);
        }
        let mut node = parent;
        while node != NIL {
            let n = self.nodes[node as usize];
            self.nodes[node as usize].bb = self.nodes[n.a as usize]
                .bb
                .merge(&self.nodes[n.b as usize].bb);
            node = n.parent;
        }
    }

    /// `SubtreeRemove`.
    fn subtree_remove(&mut self, subtree: u8, leaf: u8) -> u8 {
        if leaf == subtree {
            return NIL;
        }
        let parent = self.nodes[leaf as usize].parent;
        if parent == subtree {
            let other = self.other(subtree, leaf);
            self.nodes[other as usize].parent = self.nodes[subtree as usize].parent;
            self.free[subtree as usize] = true;
            other
        } else {
            let grand = self.nodes[parent as usize].parent;
            let other = self.other(parent, leaf);
            self.replace_child(grand, parent, other);
            subtree
        }
    }

    fn list_remove(&mut self, leaf: u8, pair: (u8, u8)) {
        if (leaf as usize) >= DYNAMIC {
            return;
        }
        let l = leaf as usize;
        let n = self.n_pairs[l];
        if let Some(i) = self.pairs[l][..n].iter().position(|&p| p == pair) {
            self.pairs[l].copy_within(i + 1..n, i);
            self.n_pairs[l] = n - 1;
        }
    }

    fn list_push_front(&mut self, leaf: u8, pair: (u8, u8)) {
        if (leaf as usize) >= DYNAMIC {
            return;
        }
        let l = leaf as usize;
        let n = self.n_pairs[l];
        assert!(n < MAX_PAIRS, "pair list overflow");
        self.pairs[l].copy_within(0..n, 1);
        self.pairs[l][0] = pair;
        self.n_pairs[l] = n + 1;
    }

    /// `PairInsert(a, b)`.
    fn pair_insert(&mut self, a: u8, b: u8) {
        self.list_push_front(a, (a, b));
        self.list_push_front(b, (a, b));
    }

    /// `PairsClear(leaf)`.
    fn pairs_clear(&mut self, leaf: u8) {
        let l = leaf as usize;
        let n = self.n_pairs[l];
        let list = self.pairs[l];
        self.n_pairs[l] = 0;
        for &(a, b) in &list[..n] {
            let other = if a == leaf { b } else { a };
            self.list_remove(other, (a, b));
        }
    }

    /// `MarkLeafQuery`.
    fn mark_leaf_query(
        &mut self,
        subtree: u8,
        leaf: u8,
        left: bool,
        func: &mut impl FnMut(u8, u8),
    ) {
        let leaf_bb = self.nodes[leaf as usize].bb;
        if !leaf_bb.intersects(&self.nodes[subtree as usize].bb) {
            return;
        }
        if Self::is_leaf(subtree) {
            if left {
                self.pair_insert(leaf, subtree);
            } else {
                if self.nodes[subtree as usize].stamp < self.nodes[leaf as usize].stamp {
                    self.pair_insert(subtree, leaf);
                }
                func(leaf, subtree);
            }
        } else {
            let s = self.nodes[subtree as usize];
            self.mark_leaf_query(s.a, leaf, left, func);
            self.mark_leaf_query(s.b, leaf, left, func);
        }
    }

    /// `MarkLeaf`.
    fn mark_leaf(&mut self, leaf: u8, func: &mut impl FnMut(u8, u8)) {
        if self.nodes[leaf as usize].stamp == self.stamp {
            if self.static_root != NIL {
                self.mark_leaf_query(self.static_root, leaf, false, func);
            }
            let mut node = leaf;
            loop {
                let parent = self.nodes[node as usize].parent;
                if parent == NIL {
                    break;
                }
                let p = self.nodes[parent as usize];
                if p.a == node {
                    self.mark_leaf_query(p.b, leaf, true, func);
                } else {
                    self.mark_leaf_query(p.a, leaf, false, func);
                }
                node = parent;
            }
        } else {
            let l = leaf as usize;
            for &(a, b) in &self.pairs[l][..self.n_pairs[l]] {
                if b == leaf {
                    func(a, leaf);
                }
            }
        }
    }

    /// `MarkSubtree`.
    fn mark_subtree(&mut self, subtree: u8, func: &mut impl FnMut(u8, u8)) {
        if Self::is_leaf(subtree) {
            self.mark_leaf(subtree, func);
        } else {
            let s = self.nodes[subtree as usize];
            self.mark_subtree(s.a, func);
            self.mark_subtree(s.b, func);
        }
    }

    /// `cpBBTreeReindexQuery` for one sub-step: `bbs` are the shapes' current boxes and `vels` their bodies'
    /// velocities (`[pusher, bar, stem]`); `func` is called with each candidate pair in the reference's order.
    pub fn reindex_query(
        &mut self,
        bbs: [Bb; DYNAMIC],
        vels: [(f64, f64); DYNAMIC],
        func: &mut impl FnMut(u8, u8),
    ) {
        for &leaf in &HASH_ORDER {
            let l = leaf as usize;
            if !self.nodes[l].bb.contains(&bbs[l]) {
                self.nodes[l].bb = bbs[l].fattened(vels[l]);
                let root = self.subtree_remove(self.dyn_root, leaf);
                self.dyn_root = self.subtree_insert(root, leaf);
                self.pairs_clear(leaf);
                self.nodes[l].stamp = self.stamp;
            }
        }
        self.mark_subtree(self.dyn_root, func);
        self.stamp += 1;
    }
}
