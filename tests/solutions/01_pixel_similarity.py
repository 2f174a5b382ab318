# %% knn_vote
def knn_predict(queries, refs, ref_labels, k):
    """The label voted by the k nearest rows of refs, for each row of queries: (len(queries),)."""
    votes = []
    for i in range(0, len(queries), batch_size):
        closest = l2_distance(queries[i:i + batch_size], refs).topk(k, largest=False).indices
        votes.append(torch.mode(ref_labels[closest], dim=1).values)
    return torch.cat(votes)


# %% black_and_white
def nearest_black_and_white(distance):
    """The predicted class of each test image, (len(x_test),), after thresholding images and means at 0.5."""
    return nearest((x_test > 0.5).float(), (means > 0.5).float(), distance)
