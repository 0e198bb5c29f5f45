module heapwalk/bigheap

go 1.19
